"""A small synchronous obs-websocket v5 client (RPC 1) on websocket-client.

obs-websocket-py 1.0 hides each request's status comment (why a request failed) and cannot send
RequestBatch, which preset switching needs (one ordered batch). This client speaks the protocol
directly: Hello/Identify with the salted SHA-256 challenge, Request/RequestResponse, RequestBatch. Every
failure becomes one ObsError with a message a user can act on; the password is never printed or logged."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json

from ..errors import DeepZoomError

OP_HELLO, OP_IDENTIFY, OP_IDENTIFIED, OP_REQUEST, OP_RESPONSE, OP_BATCH, OP_BATCH_RESPONSE = 0, 1, 2, 6, 7, 8, 9
SERIAL_REALTIME, SERIAL_FRAME = 0, 1
CLOSE_REASONS = {4009: "wrong password", 4010: "this obs-websocket speaks an unsupported RPC version"}


class ObsError(DeepZoomError):
    """Connection, authentication or request failure, with OBS's own reason when it gave one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


def auth_string(password: str, salt: str, challenge: str) -> str:
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


class ObsClient:
    def __init__(self, host: str = "127.0.0.1", port: int = 4455, password: str | None = None, timeout: float = 10):
        self.host, self.port, self.timeout = host, port, timeout
        self._password = password
        self._ws = None
        self._ids = itertools.count(1)
        self.versions: dict = {}

    def __enter__(self) -> ObsClient:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> ObsClient:
        import websocket

        where = f"{self.host}:{self.port}"
        ws = websocket.WebSocket()
        ws.settimeout(self.timeout)
        try:
            ws.connect(f"ws://{where}", subprotocols=["obswebsocket.json"])
        except ConnectionRefusedError as exc:
            raise ObsError(f"cannot connect to OBS at {where}: connection refused (is OBS running with "
                           "obs-websocket enabled on that port? see `deepzoom obs setup --websocket-port`)") from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise ObsError(f"cannot connect to OBS at {where}: {exc}") from exc
        self._ws = ws
        hello = self._recv(OP_HELLO)
        identify = {"rpcVersion": 1, "eventSubscriptions": 0}
        if "authentication" in hello:
            if not self._password:
                self.close()
                raise ObsError(f"OBS at {where} requires a password: set it in an environment variable and pass "
                               "--password-env VAR (or answer the prompt)")
            a = hello["authentication"]
            identify["authentication"] = auth_string(self._password, a["salt"], a["challenge"])
        self._send(OP_IDENTIFY, identify)
        try:
            self._recv(OP_IDENTIFIED)
        except ObsError as exc:
            self.close()
            if exc.code == 4009:
                raise ObsError(f"OBS at {where} refused the password (wrong password)", 4009) from None
            raise
        self.versions = self.request("GetVersion")
        return self

    def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                self._ws.close()
            self._ws = None

    def _send(self, op: int, data: dict) -> None:
        self._ws.send(json.dumps({"op": op, "d": data}))

    def _recv(self, op: int, request_id: str | None = None) -> dict:
        import websocket

        while True:
            try:
                opcode, frame = self._ws.recv_data_frame(True)
            except websocket.WebSocketConnectionClosedException as exc:
                raise ObsError("OBS closed the connection") from exc
            except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
                raise ObsError(f"OBS did not answer within {self.timeout:.0f} s") from exc
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
                reason = CLOSE_REASONS.get(code) or frame.data[2:].decode(errors="replace") or f"code {code}"
                raise ObsError(f"OBS closed the connection ({reason})", code)
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            msg = json.loads(frame.data)
            if msg.get("op") == op and (request_id is None or msg["d"].get("requestId") == request_id):
                return msg["d"]

    def request(self, name: str, data: dict | None = None) -> dict:
        """One request; returns its responseData or raises ObsError with OBS's reason."""
        if self._ws is None:
            self.connect()
        rid = str(next(self._ids))
        self._send(OP_REQUEST, {"requestType": name, "requestId": rid, "requestData": data or {}})
        d = self._recv(OP_RESPONSE, rid)
        status = d["requestStatus"]
        if not status["result"]:
            code = status.get("code")
            why = status.get("comment") or ("request not supported by this OBS (too old?)" if code == 204 else "")
            raise ObsError(f"{name} failed: {why or 'code ' + str(code)}", code)
        return d.get("responseData") or {}

    def batch(self, requests: list[tuple[str, dict]], execution: int = SERIAL_FRAME, halt_on_failure=True) -> list:
        """A RequestBatch; SERIAL_FRAME runs the requests in order on the graphics thread, within one frame."""
        if self._ws is None:
            self.connect()
        rid = str(next(self._ids))
        self._send(OP_BATCH, {"requestId": rid, "haltOnFailure": halt_on_failure, "executionType": execution,
                              "requests": [{"requestType": n, "requestData": d} for n, d in requests]})
        return self._recv(OP_BATCH_RESPONSE, rid)["results"]
