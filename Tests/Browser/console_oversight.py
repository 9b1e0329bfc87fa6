"""Console II in a real browser (Debian's Chromium over WebDriver), with axe-core on every page in Chinese and
in English. Run by the integration test `Console II in a browser`, which starts the five services and the
console, makes the data and hands over:

    CONSOLE_URL, PASSWORD, TF_USER, OPS_USER, SCREENSHOTS (a folder),
    LEDGER, SCHOOL_A, SUBJECTS_A (comma-separated), SUBJECT_B, RISK (the API's explanation of the first of
    SUBJECTS_A, JSON), FELL_SCHOOL, FELL_NAME, DISTRICT, QUARTER, DEAD_ID (a message in intake.dead)

The task force filters a ledger by school in the form and exports it (the CSV opens with Python's csv module
and holds exactly the filtered subjects; the audit page shows the export), reads a subject's explanation (each
factor and weight the API gives), sees the school that fell on the rating page, and prints the bulletin to PDF
(Chromium's printing; the PDF's text names the school). The operator replays the dead letter. Every new page is
looked at in zh and en. Prints one JSON line; exits 1 on any failure.
"""
import base64
import csv
import glob
import io
import json
import os
import sys
import tempfile
import time

from browserkit import (browser, check, checked, click_and_wait, failures, fill, look as look_at, sign_in as sign_in_at, submit,
                        switch_language)
from pypdf import PdfReader
from selenium.webdriver.common.by import By

URL = os.environ["CONSOLE_URL"].rstrip("/")
PASSWORD = os.environ["PASSWORD"]
TF_USER = os.environ["TF_USER"]
OPS_USER = os.environ["OPS_USER"]
SHOTS = os.environ["SCREENSHOTS"]
LEDGER = os.environ["LEDGER"]
SCHOOL_A = os.environ["SCHOOL_A"]
SUBJECTS_A = set(os.environ["SUBJECTS_A"].split(","))
SUBJECT_B = os.environ["SUBJECT_B"]
RISK = json.loads(os.environ["RISK"])
FELL = os.environ["FELL_SCHOOL"]
FELL_NAME = os.environ["FELL_NAME"]
DISTRICT = os.environ["DISTRICT"]
QUARTER = os.environ["QUARTER"]
DEAD_ID = os.environ["DEAD_ID"]
os.makedirs(SHOTS, exist_ok=True)


def look(driver, name):
    look_at(driver, name, SHOTS)


def pages_of_the_task_force(subject):
    return [
        ("ledgers", "/ledgers"), ("ledger", f"/ledgers/{LEDGER}?school={SCHOOL_A}"), ("subject", f"/subjects/{subject}"),
        ("stats", "/stats"), ("summary", "/summary?period=quarter"), ("ratings", f"/ratings?quarter={QUARTER}&district={DISTRICT}"),
        ("bulletin", f"/ratings/{QUARTER}/bulletin?district={DISTRICT}"), ("schools", f"/schools?district={DISTRICT}"),
        ("school", f"/schools/{FELL}"), ("inspections", "/inspections"), ("hazards", "/hazards?state=all"), ("venues", "/venues?all=1"),
    ]


def wait_for_file(folder, pattern, seconds=20):
    # Chromium may reserve a download's final name with an empty file while it writes into a .crdownload beside
    # it: the download is done when no .crdownload is left and the file holds something.
    deadline = time.time() + seconds
    while time.time() < deadline:
        writing = glob.glob(os.path.join(folder, "*.crdownload"))
        done = [f for f in glob.glob(os.path.join(folder, pattern)) if not f.endswith(".crdownload") and os.path.getsize(f) > 0]
        if done and not writing:
            return done[0]
        time.sleep(0.2)
    return None


def task_force_checks(tf, downloads):
    # The ledger filtered by school in the page's own form.
    tf.get(URL + f"/ledgers/{LEDGER}")
    fill(tf, "school", SCHOOL_A)
    submit(tf, "form.filters button[type=submit]", "school=")
    listed = {a.get_attribute("href").rsplit("/", 1)[-1] for a in tf.find_elements(By.CSS_SELECTOR, "table a[href*='/subjects/']")}
    check(listed == SUBJECTS_A, f"the filtered ledger lists the school's subjects ({sorted(listed)} vs {sorted(SUBJECTS_A)})")
    # Exported on a stated purpose: the CSV holds exactly the filtered rows.
    fill(tf, "purpose", "季度研判会材料")
    tf.find_element(By.ID, "format-csv").click()
    tf.find_element(By.CSS_SELECTOR, f'form[action="/ledgers/{LEDGER}/export"] button[type=submit]').click()
    path = wait_for_file(downloads, f"ledger-{LEDGER}-*.csv")
    check(path is not None, "the export was downloaded")
    if path:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        check(rows[0][:3] == ["条目编号", "对象编号", "风险等级"], f"the CSV's header ({rows[0]})")
        check({row[1] for row in rows[1:]} == SUBJECTS_A and len(rows) == len(SUBJECTS_A) + 1,
              f"the CSV holds the filtered rows ({[row[1] for row in rows[1:]]})")
    tf.get(URL + f"/audit?person={TF_USER}")
    check(f"ledger/{LEDGER}?school={SCHOOL_A}" in tf.page_source and "季度研判会材料" in tf.page_source,
          "the audit page shows the export with its filter and purpose")

    # A subject's explanation says what the API says.
    tf.get(URL + f"/ledgers/{LEDGER}?school={SCHOOL_A}")
    click_and_wait(tf, tf.find_element(By.CSS_SELECTOR, f"table a[href='/subjects/{RISK['subjectId']}']"))
    rows = [row.text for row in tf.find_elements(By.CSS_SELECTOR, "table[aria-labelledby=factors-h] tbody tr")]
    check(len(rows) == len(RISK["factors"]), f"one row per factor ({len(rows)} vs {len(RISK['factors'])})")
    for factor in RISK["factors"]:
        weight = int(factor["weight"]) if float(factor["weight"]).is_integer() else factor["weight"]
        check(any(f"({factor['id']})" in row and f" {weight} " in f" {row} " for row in rows),
              f"the factor {factor['id']} with weight {weight} is on the page ({rows})")
    check(RISK["modelVersion"] in tf.page_source, "the model version is on the page")

    # The school that fell, on the rating page.
    tf.get(URL + f"/ratings?quarter={QUARTER}&district={DISTRICT}")
    fell = [row for row in tf.find_elements(By.CSS_SELECTOR, "tr.late") if FELL in row.text]
    check(len(fell) == 1 and "↓" in fell[0].text, "the rating page marks the school that fell, in a sign and in words")

    # The bulletin printed to PDF by Chromium: its text names the school.
    tf.get(URL + f"/ratings/{QUARTER}/bulletin?district={DISTRICT}")
    printed = tf.execute_cdp_cmd("Page.printToPDF", {"printBackground": False, "paperWidth": 8.27, "paperHeight": 11.69})
    pdf = base64.b64decode(printed["data"])
    with open(os.path.join(SHOTS, "bulletin.pdf"), "wb") as handle:
        handle.write(pdf)
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    check(FELL in text and FELL_NAME in text, f"the printed bulletin names the school ({FELL} {FELL_NAME} in {text[:300]!r})")

    # On a phone.
    tf.set_window_size(390, 844)
    tf.get(URL + f"/ledgers/{LEDGER}?school={SCHOOL_A}")
    look(tf, "ledger-phone")
    tf.get(URL + f"/ratings?quarter={QUARTER}&district={DISTRICT}")
    look(tf, "ratings-phone")
    tf.set_window_size(1280, 900)


def main():
    downloads = tempfile.mkdtemp()
    tf = browser()
    try:
        tf.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        sign_in_at(tf, URL, TF_USER, PASSWORD, "oversight-taskforce", SHOTS)
        task_force_checks(tf, downloads)
        for language in ("zh", "en"):
            if language == "en":
                switch_language(tf, URL, "en")
            for name, path in pages_of_the_task_force(RISK["subjectId"]):
                tf.get(URL + path)
                check(tf.execute_script("return document.documentElement.lang") == ("zh-Hans" if language == "zh" else "en"),
                      f"{name}: the page says its language ({language})")
                look(tf, f"{name}-{language}")
    finally:
        tf.quit()

    ops = browser()
    try:
        sign_in_at(ops, URL, OPS_USER, PASSWORD, "oversight-operator", SHOTS)
        ops.get(URL + "/dead?service=intake")
        rows = [row for row in ops.find_elements(By.CSS_SELECTOR, "tbody tr") if DEAD_ID in row.text]
        check(len(rows) == 1 and "may not send hotline.call.v1" in rows[0].text, "the dead letter is listed with its reason")
        if rows:
            click_and_wait(ops, rows[0].find_element(By.CSS_SELECTOR, "button[type=submit]"))
            check("已重放" in ops.page_source, "the replay is confirmed on the page")
            gone = False
            for _ in range(40):
                ops.get(URL + "/dead?service=intake")
                if DEAD_ID not in ops.page_source:
                    gone = True
                    break
                time.sleep(0.5)
            check(gone, "the replayed letter leaves intake's dead letters")
        for language in ("zh", "en"):
            if language == "en":
                switch_language(ops, URL, "en")
            for name, path in [("operations", "/operations"), ("dead", "/dead?service=intake"), ("agencies", "/agencies"), ("routing", "/routing")]:
                ops.get(URL + path)
                look(ops, f"{name}-{language}")
    finally:
        ops.quit()

    print(json.dumps({"pages": checked, "failures": failures}, ensure_ascii=False))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
