#!/usr/bin/env python3
"""A real SMTP server for the integration tests (aiosmtpd, no TLS, no AUTH).

Every accepted mail is appended to OUT as one JSON line: envelope from and to, the Subject,
From, To and Message-ID headers, the text/plain and text/html bodies. Refused attempts are
appended to OUT.refused (one JSON line each, with the code) and are not in OUT.

    smtp_server.py --port 0 --out mails.jsonl [--fail-first N --fail-code 421] [--reject-code 550]

--port 0 picks a free port. The first line on stdout is "listening on PORT" once the socket
accepts connections. --fail-first N answers the first N messages with --fail-code (a
temporary failure, 421 by default); --reject-code answers every message with that code.
"""

import argparse
import asyncio
import json
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP


def body(part):
    """The decoded content of a MIME part, with plain line ends."""
    return None if part is None else part.get_content().replace("\r\n", "\n")


class Handler:
    def __init__(self, out, fail_first, fail_code, reject_code):
        self.out = out
        self.fail_left = fail_first
        self.fail_code = fail_code
        self.reject_code = reject_code

    def _append(self, path, record):
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    async def handle_DATA(self, server, session, envelope):
        if self.reject_code:
            self._append(self.out + ".refused", {"code": self.reject_code, "to": envelope.rcpt_tos})
            return f"{self.reject_code} 5.7.1 Rejected by the test server"
        if self.fail_left > 0:
            self.fail_left -= 1
            self._append(self.out + ".refused", {"code": self.fail_code, "to": envelope.rcpt_tos})
            return f"{self.fail_code} 4.3.0 Try again later (test server)"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        self._append(
            self.out,
            {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "header_from": str(msg.get("From", "")),
                "header_to": str(msg.get("To", "")),
                "subject": str(msg.get("Subject", "")),
                "message_id": str(msg.get("Message-ID", "")),
                "text": body(text),
                "html": body(html),
            },
        )
        return "250 2.0.0 OK"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-code", type=int, default=421)
    p.add_argument("--reject-code", type=int, default=0)
    a = p.parse_args()
    handler = Handler(a.out, a.fail_first, a.fail_code, a.reject_code)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="localhost", enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=a.port,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
