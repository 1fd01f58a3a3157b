"""Opens `shardplan --report` pages in headless Chromium and checks them as a reader's browser shows them:
no console error, no exception, no request beyond the file itself, every section and drawing present with the
counts the plan implies, every timeline label inside its drawing, no rank mesh taller than 250 px, and a full-page
screenshot written next to each page.

It talks to Chromium over the DevTools protocol (https://chromedevtools.github.io/devtools-protocol/) on a
WebSocket, with Python's standard library only.

    python check_report.py CHROMIUM PAGE.html[:EXPECTED.json] ...

EXPECTED.json holds what the page must show: {"devices": 8, "ranks": 2, "stages": 2, "steps": 32}. A page given
without it gets every check but those counts (how Docs/report.md's screenshot is made).
"""

import base64
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class DevTools:
    """A minimal WebSocket client (RFC 6455) speaking the DevTools protocol to one page."""

    def __init__(self, url):
        host, rest = url.removeprefix("ws://").split("/", 1)
        address, port = host.split(":")
        self.sock = socket.create_connection((address, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        header, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in header.split(b"\r\n")[0]:
            raise RuntimeError(f"DevTools refused the WebSocket: {header[:200]!r}")
        self.next_id = 0
        self.events = []

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0, 1, 2):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    def _send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        mask = os.urandom(4)
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(self._receive())
        raise RuntimeError(f"no {method} within {timeout} s")


def start_chromium(binary, profile):
    arguments = [binary, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"]
    if os.geteuid() == 0:
        arguments.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox (CI runs as root).
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = pathlib.Path(profile) / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return process, int(port_file.read_text().split()[0])
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("Chromium did not open its DevTools port within 30 s")


# What the page's drawings hold, measured in the browser.
MEASURE = """(() => {
  const q = s => document.querySelectorAll(s).length;
  return {
    sections: [...document.querySelectorAll('section')].map(s => s.id),
    devices: q('#cluster-map rect.device'),
    ranksInLegend: q('#ranks > span'),
    timelineRanks: q('#timeline-chart rect.bubble'),
    passes: Number(document.querySelector('#timeline-chart').dataset.passes),
    drawing: document.querySelector('#timeline-chart').dataset.drawing,
    passRectangles: [...document.querySelectorAll('#timeline-chart path')].reduce((n, p) => n + (p.getAttribute('d').match(/z/g) || []).length, 0),
    memoryBars: q('#memory-chart rect'),
    capacityLine: q('#memory-chart #capacity'),
    stages: q('details.stage'),
    shardingRows: q('table.shardings tbody tr'),
    cards: q('.card'),
    scripts: q('script'),
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    timelineWidth: document.querySelector('#timeline-chart').getBoundingClientRect().width,
    clippedLabels: [...document.querySelectorAll('#timeline-chart text')].filter(t => {
      const box = t.getBBox(), view = t.ownerSVGElement.viewBox.baseVal;
      return box.x < 0 || box.x + box.width > view.width;
    }).map(t => t.textContent),
    tallestMesh: Math.max(0, ...[...document.querySelectorAll('svg.mesh')].map(s => s.getBoundingClientRect().height)),
  };
})()"""


def check_page(devtools, page, expected, out):
    errors, requests = [], []
    devtools.events.clear()
    devtools.call("Page.navigate", url=page.resolve().as_uri())
    devtools.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # late console messages (SVG attribute errors are reported while painting)
    devtools.call("Runtime.evaluate", expression="1")
    for event in devtools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            errors.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            errors.append(f"{params['entry']['source']} {params['entry']['level']}: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
    measured = devtools.call("Runtime.evaluate", expression=MEASURE, returnByValue=True)["result"]["value"]
    failures = list(errors)
    foreign = [url for url in requests if url != page.resolve().as_uri() and not url.startswith("data:")]
    if foreign:
        failures.append(f"the page requested {foreign}")
    wanted_sections = ["cluster", "timeline", "time", "memory", "shardings"]
    if measured["sections"] != wanted_sections:
        failures.append(f"sections {measured['sections']}, expected {wanted_sections}")
    checks = [("capacityLine", 1), ("cards", 4), ("scripts", 0), ("ranksInLegend", measured["timelineRanks"])]
    if expected is not None:
        checks += [("devices", expected["devices"]), ("timelineRanks", expected["ranks"]), ("stages", expected["stages"]),
                   ("passes", expected["steps"])]
        if measured["drawing"] == "exact":
            checks.append(("passRectangles", expected["steps"]))
        if measured["memoryBars"] < expected["ranks"] or measured["shardingRows"] < expected["stages"]:
            failures.append(f"memory bars {measured['memoryBars']}, sharding rows {measured['shardingRows']}")
    for key, value in checks:
        if measured[key] != value:
            failures.append(f"{key}: {measured[key]}, expected {value}")
    if measured["clippedLabels"]:
        failures.append(f"timeline labels run past the drawing's edge: {measured['clippedLabels']}")
    if measured["tallestMesh"] > 250:
        failures.append(f"a rank mesh is drawn {measured['tallestMesh']} px tall (at most 250)")
    if measured["width"] > 1400:
        failures.append(f"the page is {measured['width']} px wide: it scrolls sideways")
    # The screenshot: the whole page at its own height.
    devtools.call("Emulation.setDeviceMetricsOverride", width=1344, height=int(measured["height"]), deviceScaleFactor=1, mobile=False)
    shot = devtools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    png = out / (page.stem + ".png")
    png.write_bytes(base64.b64decode(shot["data"]))
    devtools.call("Emulation.clearDeviceMetricsOverride")
    return failures, measured, png


def main():
    binary, pages = sys.argv[1], sys.argv[2:]
    profile = tempfile.mkdtemp(prefix="shardplan-chromium-")
    process, port = start_chromium(binary, profile)
    failed = False
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT"), timeout=30) as r:
            target = json.load(r)
        devtools = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            devtools.call(f"{domain}.enable")
        for argument in pages:
            page, _, expected_file = argument.partition(":")
            page = pathlib.Path(page)
            expected = json.loads(pathlib.Path(expected_file).read_text()) if expected_file else None
            started = time.time()
            failures, measured, png = check_page(devtools, page, expected, page.parent)
            summary = (f"{page.name}: {measured['devices']} devices, {measured['timelineRanks']} ranks, "
                       f"{measured['passes']} passes ({measured['drawing']}), {measured['stages']} stages, {measured['shardingRows']} sharding rows, "
                       f"{page.stat().st_size // 1024} KB, {time.time() - started:.1f} s; screenshot {png}")
            if failures:
                failed = True
                print(f"FAILED {summary}\n  " + "\n  ".join(failures))
            else:
                print(f"ok {summary}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
