"""Kannel's HTTP `sendsms` interface on smsbox.

One GET per message (Kannel takes one text per request), sent by a small pool of
threads over kept-alive connections. UCS-2 texts go with `coding=2` and the text in
UTF-8 (`charset=UTF-8`): Kannel converts. Every message asks for delivery reports
(`dlr-mask=31`) on the platform's webhook, with the platform's own message id in the
URL, so a report finds its message without any lookup table.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode, urlsplit

from campaigns.gateways.base import Gateway, OutgoingSms, SendResult

# delivered (1) + undelivered (2) + buffered (4) + SMSC accepted (8) + SMSC rejected (16)
ALL_REPORTS = 31
TIMEOUT_SECONDS = 30


class KannelGateway(Gateway):
    name = "kannel"
    chunk_size = 1000

    def __init__(
        self,
        *,
        sendsms_url: str,
        username: str,
        password: str,
        report_url: str,
        max_per_second: float = 0,
        connections: int = 16,
        dlr_mask: int = ALL_REPORTS,
    ) -> None:
        super().__init__(max_per_second=max_per_second)
        parts = urlsplit(sendsms_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"KANNEL_SENDSMS_URL must be an http:// URL, not {sendsms_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/cgi-bin/sendsms"
        self.username = username
        self.password = password
        # "…/webhooks/kannel/dlr/?secret=…": the message id and Kannel's escapes are added.
        self.report_url = report_url
        self.connections = max(1, connections)
        self.dlr_mask = dlr_mask
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=self.connections, thread_name_prefix="kannel")

    # -- one request ---------------------------------------------------------------------

    def query(self, sms: OutgoingSms) -> str:
        params = {
            "username": self.username,
            "password": self.password,
            "to": sms.to,
            "text": sms.text,
            "charset": "UTF-8",
            "coding": "2" if sms.ucs2 else "0",
        }
        if self.dlr_mask:
            params["dlr-mask"] = str(self.dlr_mask)
            params["dlr-url"] = self.dlr_url(sms.message_id)
        if sms.sender:
            params["from"] = sms.sender
        return urlencode(params, quote_via=quote)

    def dlr_url(self, message_id: int) -> str:
        # Kannel fills %d (report type), %A (SMSC's answer) and %T (time) when it calls.
        joiner = "&" if "?" in self.report_url else "?"
        return f"{self.report_url}{joiner}id={message_id}&type=%d&answer=%A&ts=%T"

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_SECONDS)
            self._local.conn = conn
        return conn

    def _send_one(self, sms: OutgoingSms) -> SendResult:
        url = f"{self.path}?{self.query(sms)}"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                if conn.sock is None:
                    conn.connect()
            except OSError as error:
                # Nothing was sent: the message goes back to the queue for later.
                conn.close()
                self._local.conn = None
                return SendResult(
                    sms.message_id, False, error=f"kannel unreachable: {error}", retry=True
                )
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                body = response.read().decode("utf-8", "replace").strip()
                break
            except (OSError, http.client.HTTPException) as error:
                # A kept-alive connection the server had closed fails at once: reconnect
                # and try once more. A second failure leaves the outcome unknown; the
                # message is failed rather than risk sending it twice.
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    return SendResult(sms.message_id, False, error=f"kannel: no answer ({error})")
        if response.status in (200, 202) and body.startswith("0:"):
            # "0: Accepted for delivery": Kannel has it; our id is the gateway id.
            return SendResult(sms.message_id, True, gateway_id=str(sms.message_id))
        return SendResult(sms.message_id, False, error=f"kannel {response.status}: {body}"[:255])

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        return list(self._pool.map(self._send_one, messages))
