"""An agency's client for scripts/compose-test, with a stock AMQP client (pika).

    agency.py burst URL CODE PREFIX COUNT SUBJECTS RATE   publish COUNT incident reports about SUBJECTS pupils
    agency.py report URL CODE ID                          one report with danger now, message id ID
    agency.py refused URL CODE                            publishing anywhere but huhang.intake is refused

A burst is the same for every PREFIX: report i is about pupil PREFIX-(i mod
SUBJECTS), of category CATEGORIES[i mod 7], so two bursts with different
prefixes must leave the same risk results. Prints what was confirmed.
"""
import json
import sys
import time
import uuid

import pika

CATEGORIES = ["bullying", "self_harm", "violence", "drugs", "running_away", "online_harm", "theft"]


def connect(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def publish(channel, code, body, message_id, exchange="huhang.intake"):
    channel.basic_publish(
        exchange=exchange, routing_key="report.incident.v1", body=json.dumps(body).encode(), mandatory=True,
        properties=pika.BasicProperties(
            message_id=message_id, type="report.incident.v1", user_id=code, content_type="application/json",
            delivery_mode=2, headers={"specversion": "1.0"}))


def report(code, external_id, pupil, category, danger=False):
    return {"externalId": external_id, "category": category, "immediateDanger": danger,
            "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600)),
            "schoolCode": code, "people": [{"role": "victim", "studentNumber": pupil}]}


def main():
    command, url, code = sys.argv[1], sys.argv[2], sys.argv[3]
    connection, channel = connect(url)
    if command == "burst":
        prefix, count, subjects, rate = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
        confirmed = 0
        start = time.monotonic()
        for i in range(count):
            body = report(code, f"{prefix}-{i}", f"{prefix}-{i % subjects}", CATEGORIES[i % len(CATEGORIES)])
            publish(channel, code, body, str(uuid.uuid4()))  # returns once the broker confirmed it
            confirmed += 1
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        print(confirmed)
    elif command == "report":
        publish(channel, code, report(code, f"danger-{sys.argv[4]}", "danger-1", "self_harm", danger=True), sys.argv[4])
        print(1)
    elif command == "refused":
        try:
            publish(channel, code, report(code, "sneaky", "x", "theft"), str(uuid.uuid4()), exchange="huhang.events")
        except pika.exceptions.ChannelClosedByBroker as error:
            print(f"refused {error.reply_code}")
            return
        print("accepted")
        sys.exit(1)
    connection.close()


if __name__ == "__main__":
    main()
