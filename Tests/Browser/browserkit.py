"""What the console's browser scripts share: Debian's headless Chromium through its chromedriver, pressing
something that leads to a new page, signing in with an authenticator, and looking at a page — a screenshot
and axe-core's verdict — with the failures gathered for the script's one JSON line."""
import base64
import hashlib
import hmac
import os
import re
import struct
import time

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

failures = []
checked = []


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


def check(condition, what):
    if not condition:
        failures.append(what)


def totp(key_text, at=None):
    """RFC 6238 with SHA-1, 30 s, 6 digits, from the base32 key the console shows."""
    key = base64.b32decode(key_text.replace(" ", "") + "=" * (-len(key_text.replace(" ", "")) % 8))
    counter = struct.pack(">Q", int((at or time.time()) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def look(driver, name, shots):
    """A screenshot, and axe-core's verdict: no serious or critical violation."""
    driver.save_screenshot(os.path.join(shots, f"{name}.png"))
    text = driver.find_element(By.TAG_NAME, "body").text
    check(not re.search(r"\bnil\b|Optional\(", text), f"{name}: nothing absent is printed as nil")
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    checked.append({"page": name, "violations": len(results["violations"]), "serious": len(bad)})
    for violation in bad:
        failures.append(f"{name}: axe {violation['impact']} {violation['id']}: {violation['help']} "
                        f"({[n['target'] for n in violation['nodes']][:3]})")


def submit(driver, selector, until):
    """Presses a form's button and waits for the page the form leads to."""
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, selector))
    if until:
        try:
            WebDriverWait(driver, 15).until(lambda d: until in d.current_url)
        except Exception:
            pass


def fill(driver, field, value):
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def sign_in(driver, url, user, password, shot, shots):
    """The first sign-in: the password, then the authenticator enrolled from the key the page shows."""
    driver.get(url + "/signin")
    look(driver, f"{shot}-signin", shots)
    fill(driver, "username", user)
    fill(driver, "password", password)
    submit(driver, "main form button[type=submit]", "/signin/enrol")
    check("/signin/enrol" in driver.current_url, f"{user}: the first sign-in asks to enrol an authenticator ({driver.current_url})")
    look(driver, f"{shot}-enrol", shots)
    key = driver.find_element(By.CSS_SELECTOR, "code.secret").text
    fill(driver, "code", totp(key))
    submit(driver, "main form button[type=submit]", None)
    check(driver.current_url.rstrip("/") == url, f"{user}: signed in to the home page ({driver.current_url})")


def switch_language(driver, url, language):
    """The language switch on the account page."""
    driver.get(url + "/account")
    driver.find_element(By.ID, f"lang-{language}").click()
    submit(driver, 'form[action="/account/language"] button[type=submit]', "/account")
