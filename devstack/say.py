"""Talk to the running demo: `python -m devstack.say "hola"` posts a signed webhook, prints the reply."""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

from devstack.stack import DEMO_BUSINESS_NUMBER
from devstack.webhooks import inbound_params, signed_request
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("text")
    parser.add_argument("--from", dest="customer", default="whatsapp:+5215512345678")
    parser.add_argument("--ingress", default="http://127.0.0.1:8080")
    parser.add_argument("--twilio", default="http://127.0.0.1:8091")
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    token = os.environ.get("TWILIO_AUTH_TOKEN", DEMO_AUTH_TOKEN)
    account = os.environ.get("TWILIO_ACCOUNT_SID", DEMO_ACCOUNT_SID)
    url = args.ingress + "/webhooks/twilio/whatsapp"
    params = inbound_params(body=args.text, customer=args.customer, business=DEMO_BUSINESS_NUMBER,
                            account_sid=account)
    with httpx.Client(timeout=10.0) as client:
        seen = len(client.get(args.twilio + "/_standin/messages", params={"to": args.customer}).json())
        response = client.post(url, **signed_request(url, params, token))
        print(f"webhook → {response.status_code}")
        if response.status_code != 200:
            print(response.text)
            return 1
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            messages = client.get(args.twilio + "/_standin/messages", params={"to": args.customer}).json()
            if len(messages) > seen:
                for message in messages[seen:]:
                    print(f"bot → {message['body']}")
                return 0
            time.sleep(0.2)
    print("no reply within the timeout", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
