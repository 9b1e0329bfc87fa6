"""The console in a real browser (Debian's Chromium, driven over WebDriver by selenium), with an
accessibility check (axe-core) on every page. Run by the integration test `Console in a browser`,
which starts the five services and the console and hands over:

    CONSOLE_URL, TF_USER, SCHOOL_USER, PASSWORD, CASE_ID, SCREENSHOTS (a folder)

The task force signs in with password and authenticator, opens the day's loop and the late task's case,
sets a care team; the school's person signs in, gives feedback on the task and acknowledges the notice;
the task force sees the task done, seals the case and opens it again on a stated reason. Each page is
saved as a screenshot, in Chinese and in English. Prints one JSON line; exits 1 on any failure.
"""
import json
import os
import sys

from browserkit import browser, check, checked, click_and_wait, failures, fill, look as look_at, sign_in as sign_in_at, submit
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

URL = os.environ["CONSOLE_URL"].rstrip("/")
TF_USER = os.environ["TF_USER"]
SCHOOL_USER = os.environ["SCHOOL_USER"]
PASSWORD = os.environ["PASSWORD"]
CASE_ID = os.environ["CASE_ID"]
SHOTS = os.environ["SCREENSHOTS"]
SCHOOL_UNIT = os.environ["SCHOOL_UNIT"]
OPS_USER = os.environ["OPS_USER"]
os.makedirs(SHOTS, exist_ok=True)


def look(driver, name):
    look_at(driver, name, SHOTS)


def sign_in(driver, user, shot):
    sign_in_at(driver, URL, user, PASSWORD, shot, SHOTS)


def main():
    task_force = browser()
    try:
        sign_in(task_force, TF_USER, "taskforce")
        look(task_force, "taskforce-home-zh")
        check("今日" in task_force.page_source, "the task force's home shows today's loop")
        task_force.get(URL + "/cases?late=true")
        look(task_force, "taskforce-cases-late")
        check(f"/cases/{CASE_ID}" in task_force.page_source, "the late task's case is in the list of cases with late tasks")
        task_force.find_element(By.CSS_SELECTOR, f'a[href="/cases/{CASE_ID}"]').click()
        look(task_force, "taskforce-case")
        check("⚠" in task_force.page_source, "the case page marks the late task in words and a sign")
        check(any(SCHOOL_UNIT in row.text for row in task_force.find_elements(By.CSS_SELECTOR, "tr.late")),
              "the school's task is among the late ones")
        fill(task_force, "guardian-name", "王家长")
        fill(task_force, "guardian-contact", "13800000000")
        fill(task_force, "head_teacher-name", "李老师")
        fill(task_force, "head_teacher-contact", "li@school.example")
        submit(task_force, "#team-h ~ form button[type=submit]", None)
        check("team" in task_force.page_source, "the care team is saved and recorded in the chronology")

        school = browser()
        try:
            sign_in(school, SCHOOL_USER, "school")
            school.get(URL + "/tasks")
            look(school, "school-tasks")
            form = school.find_element(By.CSS_SELECTOR, "article.task form")
            Select(form.find_element(By.TAG_NAME, "select")).select_by_value("completed")
            form.find_element(By.TAG_NAME, "textarea").send_keys("已家访并约谈双方家长")
            click_and_wait(school, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            check("反馈已提交： 已完成" in school.page_source and not school.find_elements(By.CSS_SELECTOR, "article.task.late"),
                  "the school's feedback completes its task, which leaves its worklist")
            school.get(URL + "/inbox")
            look(school, "school-inbox")
            buttons = school.find_elements(By.CSS_SELECTOR, "ul.inbox form button")
            check(len(buttons) > 0, "the school has a notice to acknowledge")
            if buttons:
                submit(school, "ul.inbox form button", "/inbox")
                check("已确认" in school.page_source, "the notice is acknowledged")
            # The same pages in English, by the switch on the account page.
            school.get(URL + "/account")
            school.find_element(By.ID, "lang-en").click()
            submit(school, 'form[action="/account/language"] button[type=submit]', "/account")
            school.get(URL + "/tasks")
            look(school, "school-tasks-en")
            check("Your unit's open tasks" in school.page_source, "the school's tasks in English")
        finally:
            school.quit()

        task_force.get(URL + f"/cases/{CASE_ID}")
        check("已完成" in task_force.page_source, "back as the task force, the task is done")
        late = [row.text for row in task_force.find_elements(By.CSS_SELECTOR, "tr.late")]
        check(not any(SCHOOL_UNIT in row for row in late), f"back as the task force, the school's task is no longer late ({late})")
        task_force.get(URL + "/audit?person=" + SCHOOL_USER)
        look(task_force, "taskforce-audit")
        check(f"王老师 ({SCHOOL_USER})" in task_force.page_source and "acknowledge" in task_force.page_source
              and "feedback-completed" in task_force.page_source, "the audit names the school's person for the feedback and the acknowledgement")
        task_force.get(URL + f"/cases/{CASE_ID}")
        fill(task_force, "order", "（2026）鲁0102刑初1号")
        submit(task_force, "#seal-h ~ form button[type=submit]", None)
        look(task_force, "taskforce-sealed")
        check("查阅理由" in task_force.page_source, "a sealed case asks for a reason")
        fill(task_force, "reason", "法院调卷审查")
        submit(task_force, "main form button[type=submit]", None)
        check(f"/cases/{CASE_ID}" in task_force.current_url and "办理经过" in task_force.page_source, "the stated reason opens the case")
        check(f'action="/cases/{CASE_ID}/unseal"' in task_force.page_source, "an opened sealed case offers the unseal order")
        task_force.get(URL + "/audit?person=" + TF_USER)
        check("break-the-glass" in task_force.page_source and "法院调卷审查" in task_force.page_source,
              "the break-the-glass read is in the audit with its reason")
        task_force.get(URL + "/account")
        look(task_force, "taskforce-account")
        task_force.get(URL + "/account")
        task_force.find_element(By.ID, "lang-en").click()
        submit(task_force, 'form[action="/account/language"] button[type=submit]', "/account")
        task_force.get(URL + "/")
        look(task_force, "taskforce-home-en")
        check("Today" in task_force.page_source, "the task force's home in English")
        # The phone: the same page at a phone's width.
        task_force.set_window_size(390, 844)
        task_force.get(URL + f"/cases/{CASE_ID}")
        look(task_force, "taskforce-case-phone")
    finally:
        task_force.quit()

    # An operator: the services' health and the people.
    operator = browser()
    try:
        sign_in(operator, OPS_USER, "operator")
        look(operator, "operator-home")
        check("intervention" in operator.page_source and "✔" in operator.page_source, "the operator's home shows the services' health")
        operator.get(URL + "/people?unit=" + SCHOOL_UNIT)
        look(operator, "operator-people")
        check(SCHOOL_USER in operator.page_source, "the operator's people page lists the school's person")
    finally:
        operator.quit()

    print(json.dumps({"pages": checked, "failures": failures}, ensure_ascii=False))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
