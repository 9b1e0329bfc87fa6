"""The seed stories as agencies live them, against a suite started with `scripts/up`: agencies onboarded
with `huhang-admin agency register`, publishing with the stock pika client, reading their receipts from
their own queues, judged only through the documented /v1 APIs. Prints what each agency sees, story by
story, and exits 1 if anything is not as the README promises.

    scripts/up &                       # wait for "running"
    .dev/venv/bin/python Tests/AgencyClients/walkthrough.py

Settings (environment): BIN (the built executables, default .build/debug), AMQP_HOST (127.0.0.1:5672),
VHOST (/), the services' base URLs INTAKE_URL … NOTIFICATION_URL (127.0.0.1:8081 … 8085).
"""
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pika

BIN = os.environ.get("BIN", ".build/debug")
AMQP_HOST = os.environ.get("AMQP_HOST", "127.0.0.1:5672")
VHOST = os.environ.get("VHOST", "/")
URLS = {
    name: os.environ.get(f"{name.upper()}_URL", f"http://127.0.0.1:{port}")
    for name, port in [("intake", 8081), ("assessment", 8082), ("intervention", 8083), ("inspection", 8084), ("notification", 8085)]
}
RUN = uuid.uuid4().hex[:6]
failures = []


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ext():
    return f"walk-{uuid.uuid4()}"


def id_number():
    return "110105" + "".join(random.choice("0123456789") for _ in range(11)) + "X"


def check(story, condition, what):
    print(f"  {'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        failures.append(f"{story}: {what}")


def admin(*arguments):
    result = subprocess.run([f"{BIN}/huhang-admin", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"huhang-admin {' '.join(arguments)}: {result.stdout}{result.stderr}")
    return result.stdout.strip()


def token(agency, role, unit=None):
    return admin("token", "--agency", agency, "--role", role, "--hours", "1", *(["--unit", unit] if unit else []))


TASK_FORCE = None


def api(service, path, as_token=None, method="GET", body=None):
    request = urllib.request.Request(
        URLS[service] + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {as_token or TASK_FORCE}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text and text[0] in "[{" else text)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, (json.loads(text) if text and text[0] in "[{" else text)


def eventually(probe, seconds=30):
    deadline = time.time() + seconds
    while True:
        result = probe()
        if result or time.time() > deadline:
            return result
        time.sleep(0.3)


class Agency:
    def __init__(self, prefix, kind, unit=None):
        self.code = f"{prefix}-{RUN}"
        self.unit = unit or self.code
        password = uuid.uuid4().hex
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as file:
            file.write(password)
        arguments = ["agency", "register", "--code", self.code, "--name", f"Walkthrough {self.code}", "--kind", kind,
                     "--password-file", file.name]
        if unit:
            arguments += ["--unit", unit]
        admin(*arguments)
        os.unlink(file.name)
        vhost = urllib.parse.quote(VHOST, safe="")
        self.connection = pika.BlockingConnection(pika.URLParameters(f"amqp://{self.code}:{password}@{AMQP_HOST}/{vhost}"))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.receipts = {}
        self.token = token(self.code, "agency")

    def publish(self, event_type, body):
        message_id = str(uuid.uuid4())
        self.channel.basic_publish(
            exchange="huhang.intake", routing_key=event_type, body=json.dumps(body, ensure_ascii=False).encode(),
            properties=pika.BasicProperties(
                message_id=message_id, type=event_type, user_id=self.code, content_type="application/json", delivery_mode=2),
            mandatory=True)
        return message_id

    def read_receipts(self, event_id, count=1, seconds=30):
        deadline = time.time() + seconds
        while len(self.receipts.get(event_id, [])) < count and time.time() < deadline:
            method, _, body = self.channel.basic_get(f"agency.{self.code}.replies", auto_ack=True)
            if method is None:
                self.connection.sleep(0.2)
                continue
            receipt = json.loads(body)
            self.receipts.setdefault(receipt["eventId"], []).append(receipt)
        return self.receipts.get(event_id, [])

    def send(self, story, event_type, body):
        event_id = self.publish(event_type, body)
        receipts = self.read_receipts(event_id)
        receipt = receipts[0] if receipts else {}
        print(f"  receipt for {event_type}: {receipt.get('status')} reportId={receipt.get('reportId')}"
              + (f" reasons={[r['field'] + ': ' + r['problem'] for r in receipt['reasons']]}" if receipt.get("reasons") else ""))
        check(story, receipt.get("status") == "accepted", f"{event_type} accepted")
        return event_id, receipt.get("reportId")


def main():
    global TASK_FORCE
    TASK_FORCE = token("district-task-force", "task-force")
    channels_before = api("intake", "/v1/stats")[1].get("reportsByChannel", {})
    district = f"3701{random.randint(10, 99)}"
    school_code = f"{district}-W{RUN.upper()}"
    school = Agency("school", "school", unit=school_code)
    police = Agency("psb", "police")
    procuratorate = Agency("proc", "procuratorate")
    court = Agency("court", "court")
    hotline = Agency("hotline", "youth_league_hotline")
    print(f"onboarded: {school.code} (unit {school_code}), {police.code}, {procuratorate.code}, {court.code}, {hotline.code}")

    story = "1 venue findings stored"
    print(f"\n{story}")
    licence = f"{district}-WB-{RUN}"
    police.send(story, "venue.finding.v1", {
        "externalId": ext(), "foundAt": now(), "activities": ["present"], "actionTaken": "warning",
        "venue": {"kind": "internet_cafe", "name": "星空网咖", "licence": licence, "district": district},
        "minors": [{"studentNumber": "V-1", "schoolCode": school_code}]})
    venue = eventually(lambda: next((v for v in api("inspection", "/v1/venues", police.token)[1] if v["venueKey"] == f"licence:{licence}"), None))
    print(f"  GET /v1/venues: {venue}")
    check(story, venue is not None, "the venue is listed")

    story = "9 a venue in breach from the first finding"
    print(f"\n{story}")
    check(story, venue is not None and venue.get("flaggedAt") is not None, "the internet café is flagged at the first finding")
    tasks = eventually(lambda: [t for t in api("intervention", f"/v1/units/culture-{district}/tasks")[1] if t["measure"] == "venue_rectification"])
    print(f"  GET /v1/units/culture-{district}/tasks: {[(t['measure'], t['dueAt'], t['note']) for t in tasks or []]}")
    check(story, bool(tasks), "the regulator has a rectification task with a deadline")
    follow = eventually(lambda: [t for t in api("intervention", f"/v1/units/{school_code}/tasks", school.token)[1] if t["measure"] == "joint_follow_up"])
    print(f"  GET /v1/units/{school_code}/tasks (the school's own token): {[(t['measure'], t['note']) for t in follow or []]}")
    check(story, bool(follow), "the minor's school is told for joint follow-up, naming no one")

    story = "2 sealed minors leave every list"
    print(f"\n{story}")
    minor = id_number()
    procuratorate.send(story, "case.lead.v1", {"externalId": ext(), "minor": {"idNumber": minor}, "kind": "conditional_non_prosecution",
                                               "decidedAt": now(), "offence": "theft", "sealed": False})
    entries = eventually(lambda: api("assessment", "/v1/ledgers/delinquent", procuratorate.token)[1]["entries"])
    subject = entries[0]["subjectId"] if entries else None
    print(f"  before the seal, GET /v1/ledgers/delinquent (procuratorate): {[(e['subjectId'], e['reason']) for e in entries or []]}")
    before = api("assessment", "/v1/stats")[1]["byLedger"].get("delinquent", 0)
    court.send(story, "case.lead.v1", {"externalId": ext(), "minor": {"idNumber": minor}, "kind": "judgment", "decidedAt": now(), "sealed": True})
    gone = eventually(lambda: not api("assessment", "/v1/ledgers/delinquent", procuratorate.token)[1]["entries"])
    check(story, gone, "the procuratorate no longer lists the minor")
    after = api("assessment", "/v1/stats")[1]["byLedger"].get("delinquent", 0)
    print(f"  GET /v1/stats delinquent: {before} before, {after} after")
    check(story, after == before - 1, "the statistics no longer count the minor")
    status, risk = api("assessment", f"/v1/subjects/{subject}/risk")
    print(f"  GET /v1/subjects/{subject}/risk: tier {risk.get('tier')}, factors {[f['id'] for f in risk.get('factors', [])]}, "
          f"ledgers {[l['ledger'] for l in risk.get('ledgers', [])]}")
    check(story, "case lead" not in json.dumps(risk, ensure_ascii=False), "the risk explanation shows nothing of the sealed matter")
    status, opened = api("assessment", f"/v1/subjects/{subject}/risk?sealed=include&reason=walkthrough")
    print(f"  break the glass (task force, with a reason): sealedRecord {[(s['factor'], s['detail']) for s in opened.get('sealedRecord', [])]}")
    check(story, len(opened.get("sealedRecord", [])) >= 2, "the sealed record opens to the task force with a reason, audited")

    story = "3 one student, one subject"
    print(f"\n{story}")
    student = id_number()
    school.send(story, "report.incident.v1", {"externalId": ext(), "category": "bullying", "immediateDanger": False, "occurredAt": now(),
                                              "schoolCode": school_code, "channel": "qr_code",
                                              "people": [{"role": "victim", "idNumber": student, "studentNumber": "S-1"}]})
    school.send(story, "attendance.signal.v1", {"externalId": ext(), "schoolCode": school_code, "student": {"studentNumber": "S-1"},
                                                "kind": "dropped_out", "since": now()[:10]})
    police.send(story, "report.incident.v1", {"externalId": ext(), "category": "violence", "immediateDanger": False, "occurredAt": now(),
                                              "channel": "mailbox_110", "people": [{"role": "victim", "idNumber": student}]})
    entries = eventually(lambda: api("assessment", "/v1/ledgers/victims_needing_aid", school.token)[1]["entries"])
    one = entries[0]["subjectId"] if entries else None

    def factors():
        return [f["id"] for f in api("assessment", f"/v1/subjects/{one}/risk")[1].get("factors", [])]
    whole = eventually(lambda: {"bullying_victim", "chronic_absence", "victim_of_harm"} <= set(factors()))
    print(f"  the school's victims ledger: {[e['subjectId'] for e in entries or []]}; that subject's factors: {factors()}")
    check(story, len(entries or []) == 1 and whole, "the three reports are one subject")
    status, identities = api("intake", f"/v1/subjects/{one}/identities?reason=walkthrough")
    print(f"  GET /v1/subjects/{one}/identities: {[(e['agency'], e['eventType'], e['matchKind']) for e in identities.get('entries', [])]}")

    story = "4 a school is one identity"
    print(f"\n{story}")
    status, inbox = api("notification", f"/v1/inbox/{school_code}", school.token)
    print(f"  GET /v1/inbox/{school_code} with {school.code}'s own token: {status}, {len(inbox.get('items', []))} items, "
          f"states {sorted(set(i['state'] for i in inbox.get('items', [])))}")
    check(story, status == 200 and inbox.get("items"), "the school reads its own inbox")
    tasks = api("intervention", f"/v1/units/{school_code}/tasks", school.token)[1]
    first = next(t for t in tasks if t["measure"] == "first_response")
    school.send(story, "task.feedback.v1", {"externalId": ext(), "taskId": first["taskId"], "status": "accepted", "reportedAt": now()})
    moved = eventually(lambda: any(t["taskId"] == first["taskId"] and t["status"] == "accepted"
                                   for t in api("intervention", f"/v1/units/{school_code}/tasks", school.token)[1]))
    check(story, moved, "its feedback over the bus moves its own task")
    detail = api("intervention", f"/v1/cases/{first['caseId']}")[1]
    other = next(t for t in detail["tasks"] if t["unit"] != school_code)
    event_id = school.publish("task.feedback.v1", {"externalId": ext(), "taskId": other["taskId"], "status": "completed", "reportedAt": now()})
    receipts = school.read_receipts(event_id, count=2)
    for receipt in receipts:
        print(f"  receipt: {receipt['status']} refusedBy={receipt.get('refusedBy')} {[r['field'] + ': ' + r['problem'] for r in receipt['reasons']]}")
    check(story, [r["status"] for r in receipts] == ["accepted", "rejected"] and receipts[-1].get("refusedBy") == "intervention",
          "feedback on another unit's task: a second receipt says intervention refused it, and why")

    story = "5 back at school"
    print(f"\n{story}")
    case_id = first["caseId"]
    status, _ = api("intervention", f"/v1/cases/{case_id}/plan", method="POST",
                    body={"measures": [{"measure": "persuade_return", "unit": school_code}]})
    school.send(story, "attendance.signal.v1", {"externalId": ext(), "schoolCode": school_code, "student": {"studentNumber": "S-1"},
                                                "kind": "returned", "since": now()[:10]})

    def persuade():
        detail = api("intervention", f"/v1/cases/{case_id}")[1]
        return [t["status"] for t in detail["tasks"] if t["measure"] == "persuade_return"], "returned_to_school" in json.dumps(detail)
    done = eventually(lambda: persuade() == (["completed"], True))
    print(f"  the case's persuade-to-return task and chronology: {persuade()}")
    check(story, done, "the return completes the persuade-to-return task and is in the case")

    story = "6 the school's police officer and legal vice-principal"
    print(f"\n{story}")
    status, _ = api("inspection", f"/v1/schools/{school_code}", method="PUT",
                    body={"name": "Walkthrough school", "type": "middle", "policeUnit": f"psb-{district}-lx", "legalVicePrincipalUnit": f"proc-{district}"})
    check(story, status == 204, "the registry names their units")
    time.sleep(1)
    school.send(story, "report.incident.v1", {"externalId": ext(), "category": "bullying", "immediateDanger": False, "occurredAt": now(),
                                              "schoolCode": school_code, "people": [{"role": "victim", "studentNumber": "S-2"}]})
    for unit in [f"psb-{district}-lx", f"proc-{district}"]:
        tasks = eventually(lambda: api("intervention", f"/v1/units/{unit}/tasks")[1])
        print(f"  GET /v1/units/{unit}/tasks: {[(t['measure'], t['note']) for t in tasks or []]}")
        check(story, bool(tasks), f"{unit} is on the bullying case")

    story = "7 a 12355 call about a guardian's violence"
    print(f"\n{story}")
    hotline.send(story, "hotline.call.v1", {"externalId": ext(), "receivedAt": now(), "callerRole": "minor", "topic": "family",
                                            "riskFlags": ["violence"], "harmedBy": "guardian", "immediateDanger": False, "cityMatter": False,
                                            "minor": {"idNumber": id_number()}})
    entries = eventually(lambda: api("assessment", "/v1/ledgers/children_in_hardship", hotline.token)[1]["entries"])
    called = entries[0]["subjectId"] if entries else None
    found = [f["id"] for f in api("assessment", f"/v1/subjects/{called}/risk", hotline.token)[1].get("factors", [])]
    print(f"  factors: {found}")
    check(story, {"domestic_violence", "guardian_absent_or_unfit"} <= set(found), "domestic violence and the guardian factor count")

    story = "8 report channels"
    print(f"\n{story}")
    status, stats = api("intake", "/v1/stats")
    print(f"  GET /v1/stats (intake): reportsByChannel {stats.get('reportsByChannel')}")
    channels = stats.get("reportsByChannel", {})
    check(story, all(channels.get(c, 0) > channels_before.get(c, 0) for c in ["qr_code", "mailbox_110"]),
          "reports are counted by the channel they came through")

    print()
    if failures:
        print("NOT as promised:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("every story as the README promises")


if __name__ == "__main__":
    main()
