"""`report --format html`: one self-contained page, opened in a real headless browser.

The browser is the system's Chromium (Debian's ``chromium``; ``make test`` installs it where
it can). The test drives it over the DevTools protocol and records every request the page makes,
so a page that fetched a script, a font or an image from anywhere would be caught (the page's
Content-Security-Policy is taken out first, so that it cannot hide a request by blocking it);
a control page that does fetch shows that the recording records.
"""

from __future__ import annotations

import html.parser
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from placecount import api
from placecount.render import money, percent, report_output, to_json
from placecount.report_html import report_html

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "exampleshire"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium installed (apt-get install chromium): the browser tests need one")


def _pipe_to_3_and_4(reading: int, writing: int) -> None:
    """In the child: the browser reads its commands on fd 3 and writes on fd 4."""
    import fcntl
    import os

    high_r = fcntl.fcntl(reading, fcntl.F_DUPFD, 100)
    high_w = fcntl.fcntl(writing, fcntl.F_DUPFD, 100)
    os.dup2(high_r, 3)
    os.dup2(high_w, 4)


class DevTools:
    """Chromium driven over its DevTools pipe (fd 3 in, fd 4 out; JSON messages ending in NUL).

    Only the page's own Network events are recorded, so the browser's background traffic
    (update checks and the like) is not taken for the page's."""

    def __init__(self) -> None:
        import os

        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        self.proc = subprocess.Popen(
            [
                browser(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, to_chrome_r, from_chrome_w),
            preexec_fn=lambda: _pipe_to_3_and_4(to_chrome_r, from_chrome_w),  # noqa: PLW1509
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        import json
        import os

        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                assert "error" not in reply, reply
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def _read(self) -> dict[str, Any]:
        import json
        import os
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_chrome], [], [], 60)
            assert ready, "the browser did not answer in 60 s"
            chunk = os.read(self._from_chrome, 1 << 20)
            assert chunk, "the browser closed its pipe"
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def wait_for(self, method: str, timeout: float = 60) -> None:
        import time

        end = time.monotonic() + timeout
        while not any(ev.get("method") == method for ev in self.events):
            assert time.monotonic() < end, f"no {method} in {timeout} s"
            self.events.append(self._read())

    def close(self) -> None:
        import os

        try:
            self.send("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def open_in_browser(page: Path) -> tuple[str, list[str], list[str]]:
    """The page's DOM after its scripts ran, every request it made, and its script errors."""
    tools = DevTools()
    try:
        target = tools.send("Target.createTarget", url="about:blank")["targetId"]
        session = tools.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            tools.send(f"{domain}.enable", session)
        url = page.resolve().as_uri()
        tools.send("Page.navigate", session, url=url)
        tools.wait_for("Page.loadEventFired")
        # a moment for anything the page's scripts would fetch after load
        tools.send(
            "Runtime.evaluate",
            session,
            expression="new Promise(r => setTimeout(r, 300))",
            awaitPromise=True,
        )
        dom = tools.send(
            "Runtime.evaluate", session, expression="document.documentElement.outerHTML"
        )["result"]["value"]
    finally:
        tools.close()
    mine = [ev for ev in tools.events if ev.get("sessionId") == session]
    requests = [
        ev["params"]["request"]["url"]
        for ev in mine
        if ev.get("method") == "Network.requestWillBeSent"
        and ev["params"]["request"]["url"] != url
        and not ev["params"]["request"]["url"].startswith("data:")
    ]
    errors = [
        str(ev["params"]["exceptionDetails"])
        for ev in mine
        if ev.get("method") == "Runtime.exceptionThrown"
    ]
    return str(dom), requests, errors


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "data", "action") and value:
                self.links.append(value)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_and_links(dom: str) -> tuple[str, list[str]]:
    p = _Text()
    p.feed(dom)
    return " ".join(" ".join(p.parts).split()), p.links


def figures(data: Any, key: str = "") -> list[str]:
    """Every money figure and share in the JSON report, formatted as the formats print them."""
    if isinstance(data, dict):
        out: list[str] = []
        for k, v in data.items():
            if isinstance(v, dict) and k.endswith(("_gbp", "_share")):
                out += [_fmt(k, x) for x in v.values() if isinstance(x, str)]
            else:
                out += figures(v, k)
        return out
    if isinstance(data, list):
        return [f for v in data for f in figures(v)]
    if isinstance(data, str) and key.endswith(("_gbp", "_share", "share_of_total")):
        return [_fmt(key, data)]
    return []


def _fmt(key: str, value: str) -> str:
    return money(value) if key.endswith("_gbp") else percent(value)


def test_figures_walks_nested_money_and_shares() -> None:
    data = {
        "a_gbp": "1234.5",
        "by_kind_gbp": {"council": "10.00"},
        "rows": [{"share_of_total": "0.123", "total_gbp": None}],
        "note": "7",
    }
    assert sorted(figures(data)) == sorted(["1,234.50", "10.00", "12.3%"])


def without_csp(page: str) -> str:
    """The page without its Content-Security-Policy, so a fetch it tried would be made and seen."""
    cut = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    assert cut != page
    return cut


def check_page(tmp_path: Path, result: dict[str, Any], page: str) -> str:
    path = tmp_path / "count.html"
    path.write_text(without_csp(page), encoding="utf-8")
    dom, requests, errors = open_in_browser(path)
    assert requests == [], requests
    assert errors == []
    text, links = text_and_links(dom)
    assert [x for x in links if not x.startswith(("#", "data:"))] == []
    # it rendered: the heading, the chart's bars and the script's buttons are in the DOM
    assert "public money in the place" in text or "Public spending" in text
    assert dom.count("<rect") >= len([r for r in result["rows"] if Decimal(r["total_gbp"]) > 0])
    wanted = figures(result)
    assert len(wanted) > 20
    # the page writes −£1,234.00 where the other formats write -1,234.00
    plain = text.replace("−£", "-").replace("£", "")
    missing = sorted({f for f in wanted if f not in plain})
    assert missing == [], missing
    return text


def test_the_recorder_catches_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "fetches.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.invalid/x.png">'
        "<script>fetch('http://example.invalid/data.json')</script></body></html>",
        encoding="utf-8",
    )
    _, requests, _ = open_in_browser(page)
    assert any("example.invalid" in r for r in requests), requests


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("html") / "placecount.duckdb"
    api.init(db, "Exampleshire", "2008-09", population=512300, area_code="E10000099")
    api.ingest(
        "council",
        [EXAMPLES / "county_council_outturn_2008-09.xlsx"],
        db,
        org="Exampleshire County Council",
    )
    api.ingest(
        "council",
        [EXAMPLES / "riverton_district_outturn_2008-09.csv"],
        db,
        org="Riverton District Council",
    )
    api.ingest("nhs", [EXAMPLES / "nhs_exampleshire_2008-09.xlsx"], db)
    api.ingest(
        "police",
        [EXAMPLES / "police_authority_poa_2008-09.xlsx"],
        db,
        org="Exampleshire Police Authority",
    )
    api.ingest(
        "pesa",
        [EXAMPLES / "pesa_cra_regional_2008-09.xlsx"],
        db,
        region="East Midlands",
        place_population=512300,
        region_population=4400000,
    )
    api.ingest("ndpb", [EXAMPLES / "ndpb_spending_2008-09.xlsx"], db)
    return db


def test_example_count_in_a_browser(tmp_path: Path, example_db: Path) -> None:
    result = api.report(example_db)
    text = check_page(tmp_path, result, report_html(result))
    # the example's headline, worked out by hand in test_example_place: in the headline
    assert "£3,232,194,211.55" in text
    assert "£6,309.18" in text
    for section in ("How the count adds up", "Method and sources", "By confidence grade"):
        assert section in text


def test_cli_html_is_the_json_report_with_its_charts(tmp_path: Path, example_db: Path) -> None:
    from typer.testing import CliRunner

    from placecount.cli import app

    out = tmp_path / "count.html"
    done = CliRunner().invoke(app, ["report", "-o", str(out), "--db", str(example_db)])
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    as_json = CliRunner().invoke(app, ["report", "--format", "json", "--db", str(example_db)])
    import json

    data = json.loads(as_json.stdout)
    text, _ = text_and_links(page)
    assert sorted({f for f in figures(data) if f not in text}) == []
    # every source file is named with its checksum, for an auditor
    for s in api.sources(example_db):
        assert s["file_sha256"] in page
    assert "Content-Security-Policy" in page
    assert to_json(data) == to_json(api.report(example_db))


def test_report_output_html_is_deterministic(example_db: Path) -> None:
    result = api.report(example_db)
    assert report_output(dict(result), "html") == report_output(dict(result), "html")


def test_text_from_a_spreadsheet_is_escaped(example_db: Path) -> None:
    result = api.report(example_db)
    result["rows"][0]["cofog_name"] = "<script>alert(1)</script>"
    page = report_html(result)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_project_charts_are_inline_svg(tmp_path: Path) -> None:
    """A project with a mapping wall and a scenario: both drawn inside the page."""
    from placecount.run import run

    project = tmp_path / "exampleshire"
    shutil.copytree(EXAMPLES, project)
    shutil.copytree(EXAMPLES.parent / "scenarios", project / "scenarios")
    with (project / "placecount.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            '\n[[outputs]]\ntype = "report"\nfile = "count.html"\n'
            '\n[[outputs]]\ntype = "scenario"\n'
            'input = "scenarios/older_people_dorset.yaml"\nfile = "older.csv"\n'
        )
    run(project / "placecount.toml", tmp_path / "out")
    page = (tmp_path / "out" / "count.html").read_text(encoding="utf-8")
    assert "Mapping wall: Transfers within Exampleshire" in page
    assert "Scenario: Older people" in page
    assert page.count("<svg") == 3
    dom, requests, _ = open_in_browser_text(tmp_path, page)
    assert requests == []
    for year in ("2010-11", "2011-12", "2012-13", "2013-14", "2014-15"):
        assert year in dom


def open_in_browser_text(tmp_path: Path, page: str) -> tuple[str, list[str], list[str]]:
    path = tmp_path / "page.html"
    path.write_text(without_csp(page), encoding="utf-8")
    return open_in_browser(path)


def test_real_count_in_a_browser(tmp_path: Path) -> None:
    """A count from published files: Lancashire's council and police lines in RA 2024-25."""
    ra = REAL / "council" / "RA_2024-25_data_Part_1.ods"
    if not ra.exists():
        pytest.skip("../shared/real is not here: the real-file tests need it")
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Lancashire", "2024-25", population=1_250_000)
    api.ingest("council", [ra], db, org="Lancashire")
    api.ingest("council", [ra], db, org="Lancashire Police and Crime Commissioner")
    result = api.report(db, by="group")
    result["sources"] = api.sources(db)
    text = check_page(tmp_path, result, report_html(result))
    # SOURCES.md: Lancashire's total service expenditure is £2,355,686 thousand, the PCC's
    # £382,994 thousand: the two sources' totals are on the page, in the Sources table
    assert "2,355,686,000.00" in text
    assert "382,994,000.00" in text
