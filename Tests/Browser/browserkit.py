"""What the console's browser scripts share: Debian's headless Chromium through its chromedriver, and
pressing something that leads to a new page."""
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def browser(width=1280, height=900):
    """Headless Chromium in Chinese, at a desktop's size unless told."""
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=zh-CN"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def click_and_wait(driver, element):
    """Presses a link or button and waits until the next page has loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
