"""A service's broker user reads its own queues and no other's (scripts/compose-test).

    broker_access.py URL OWN_QUEUE OTHER_QUEUE
Prints "own ok" and "other refused 403"; exits 1 otherwise.
"""
import sys

import pika

url, own, other = sys.argv[1:4]
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
channel.basic_get(own)
print("own ok")
try:
    channel.basic_get(other)
except pika.exceptions.ChannelClosedByBroker as error:
    print(f"other refused {error.reply_code}")
    sys.exit(0 if error.reply_code == 403 else 1)
print("other readable")
sys.exit(1)
