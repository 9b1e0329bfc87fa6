"""An agency's integration written with a stock AMQP client (pika), as an
integrator would: publish to huhang.intake as ourselves, read the receipts
from our own reply queue.

Run by the integration test `Agency onboarding / a stock pika client`:
    AGENCY_AMQP_URL=amqp://code:password@127.0.0.1:5672/vhost AGENCY_CODE=code OTHER_AGENCY=agency-demo \
        python pika_agency.py
Prints one JSON object with what happened; exits 1 if anything is not as documented.
"""
import json
import os
import sys
import time
import uuid

import pika

url = os.environ["AGENCY_AMQP_URL"]
code = os.environ["AGENCY_CODE"]
other = os.environ["OTHER_AGENCY"]
reply_queue = f"agency.{code}.replies"

connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
channel.confirm_delivery()


def publish(body, message_id, user_id=code):
    channel.basic_publish(
        exchange="huhang.intake",
        routing_key="report.incident.v1",
        body=json.dumps(body).encode(),
        properties=pika.BasicProperties(
            message_id=message_id,
            type="report.incident.v1",
            user_id=user_id,
            content_type="application/json",
            delivery_mode=2,
            headers={"specversion": "1.0"},
        ),
        mandatory=True,
    )


report = {
    "externalId": f"pika-{uuid.uuid4()}",
    "category": "bullying",
    "immediateDanger": False,
    "occurredAt": "2026-11-18T08:00:00Z",
    "schoolCode": code,
    "people": [{"role": "victim", "studentNumber": "31"}],
}
ids = {"valid": str(uuid.uuid4()), "invalid": str(uuid.uuid4()), "duplicate": str(uuid.uuid4())}
publish(report, ids["valid"])
invalid = dict(report, externalId=f"pika-{uuid.uuid4()}", category="fighting")
del invalid["occurredAt"]
publish(invalid, ids["invalid"])
publish(report, ids["duplicate"])

# Posing as another agency: the broker refuses and closes the channel.
refused = False
refusal = None
try:
    publish(report, str(uuid.uuid4()), user_id=other)
except pika.exceptions.ChannelClosedByBroker as error:
    refusal = f"{error.reply_code} {error.reply_text}"
    refused = error.reply_code == 406 and "user_id" in error.reply_text

# Receipts, from our own queue.
channel = connection.channel()
receipts = {}
deadline = time.time() + 30
wanted = set(ids.values())
while time.time() < deadline and not wanted.issubset(receipts):
    method, properties, body = channel.basic_get(reply_queue, auto_ack=True)
    if method is None:
        time.sleep(0.1)
        continue
    receipt = json.loads(body)
    receipts[receipt["eventId"]] = receipt
connection.close()

result = {
    "valid": receipts.get(ids["valid"], {}).get("status"),
    "invalid": receipts.get(ids["invalid"], {}).get("status"),
    "invalid_fields": sorted(r["field"] for r in receipts.get(ids["invalid"], {}).get("reasons", [])),
    "duplicate": receipts.get(ids["duplicate"], {}).get("status"),
    "impersonation_refused": refused,
    "refusal": refusal,
}
print(json.dumps(result))
ok = (
    result["valid"] == "accepted"
    and result["invalid"] == "rejected"
    and "/category" in result["invalid_fields"]
    and "/occurredAt" in result["invalid_fields"]
    and result["duplicate"] == "duplicate"
    and refused
)
sys.exit(0 if ok else 1)
