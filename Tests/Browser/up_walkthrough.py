"""The loop a person does by hand in the console that scripts/up starts, done in Chromium step by step.

Run it after scripts/up (its two demo people sign in with the password alone on loopback):

    .dev/venv/bin/python Tests/Browser/up_walkthrough.py .dev/screenshots/up

The task force opens the day's loop and the newest case and names a guardian in its care team; the demo
school's person answers the case's task as done and acknowledges the notice; back as the task force the
task is done and the audit names the school's person. Each page is saved as a screenshot in the folder
given, and each step prints what it saw.
"""
import os
import sys

from browserkit import browser, click_and_wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

URL = "http://127.0.0.1:8080"
SHOTS = sys.argv[1]
os.makedirs(SHOTS, exist_ok=True)

def shot(d, name):
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))
    print("screenshot", name, d.current_url)

def sign_in(d, user):
    d.get(URL + "/signin")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys("demo-password-huhang")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))

tf = browser(height=1000)
sign_in(tf, "demo.taskforce")
shot(tf, "up-taskforce-home")
print("home has today:", "今日" in tf.page_source, "chart:", tf.page_source.count("<svg"))
tf.get(URL + "/cases")
shot(tf, "up-taskforce-cases")
link = tf.find_elements(By.CSS_SELECTOR, "table a[href^='/cases/']")[0]
case = link.get_attribute("href")
click_and_wait(tf, link)
shot(tf, "up-taskforce-case")
tf.find_element(By.ID, "guardian-name").send_keys("王家长")
tf.find_element(By.ID, "guardian-contact").send_keys("13800000000")
click_and_wait(tf, tf.find_element(By.CSS_SELECTOR, "#team-h ~ form button[type=submit]"))
print("team shown:", "王家长" in tf.page_source)

sc = browser(height=1000)
sign_in(sc, "demo.school")
shot(sc, "up-school-home")
sc.get(URL + "/tasks")
shot(sc, "up-school-tasks")
case_id = case.rsplit("/", 1)[1]
article = [a for a in sc.find_elements(By.CSS_SELECTOR, "article.task") if a.find_elements(By.CSS_SELECTOR, f"a[href='/cases/{case_id}']")][0]
form = article.find_element(By.TAG_NAME, "form")
Select(form.find_element(By.TAG_NAME, "select")).select_by_value("completed")
form.find_element(By.TAG_NAME, "textarea").send_keys("已约谈双方学生和家长")
click_and_wait(sc, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
print("task completed:", "已完成" in sc.page_source)
sc.get(URL + "/inbox")
shot(sc, "up-school-inbox")
buttons = sc.find_elements(By.CSS_SELECTOR, "ul.inbox form button")
print("notices to acknowledge:", len(buttons))
if buttons:
    click_and_wait(sc, buttons[0])
    print("acknowledged:", "已确认" in sc.page_source)
sc.quit()

tf.get(case)
shot(tf, "up-taskforce-case-after")
tf.get(URL + "/audit")
shot(tf, "up-taskforce-audit")
print("audit names the school's person:", "学校安全员演示 (demo.school)" in tf.page_source)
tf.quit()
