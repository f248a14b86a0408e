"""GET /v1/screenings/{id}/report: the approval-attachment report of a stored record, from a live server."""

import hashlib
import io
import shutil
import subprocess

import pytest

from service_support import SITE_KEY, feature, site_files, start_server

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("report"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client(timeout=120) as c:
        yield c


def _pdf_text(data, tmp_path):
    (tmp_path / "r.pdf").write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout


def test_the_report_of_a_record_carries_its_screening_id_and_upload_digest(client, tmp_path):
    name, data = site_files(tmp_path)["gpkg"]
    r = client.post("/v1/screen/file", files={"file": (name, data)}, data={"industry": "2614", "construction": "new"})
    assert r.status_code == 200, r.text
    sid = r.json()["screening_id"]
    html = client.get(f"/v1/screenings/{sid}/report", params={"format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert f'filename="zoning-{sid}.html"' in html.headers["content-disposition"]
    assert sid in html.text and hashlib.sha256(data).hexdigest() in html.text and name in html.text
    assert r.json()["verdict_zh"] in html.text
    docx = client.get(f"/v1/screenings/{sid}/report", params={"format": "docx"})
    assert docx.status_code == 200 and docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    import docx as python_docx

    document = python_docx.Document(io.BytesIO(docx.content))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for row in t.rows for c in row.cells)
    text += "\n".join(p.text for s in document.sections for p in s.header.paragraphs)
    assert sid in text
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pdf = client.get(f"/v1/screenings/{sid}/report")  # PDF by default
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert sid in _pdf_text(pdf.content, tmp_path).replace("\n", "")


def test_report_errors(client):
    r = client.post("/v1/screen", json=feature(SITE_KEY, industry="2614"))
    sid = r.json()["screening_id"]
    bad = client.get(f"/v1/screenings/{sid}/report", params={"format": "odt"})
    assert bad.status_code == 422 and bad.json()["error"] == "bad_input" and "format" in bad.json()["detail"]
    missing = client.get(f"/v1/screenings/{'0' * 32}/report")
    assert missing.status_code == 404 and missing.json()["error"] == "screening_not_found"
