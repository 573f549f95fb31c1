"""Photos and ID copies: decoded whole and re-encoded without metadata, and served only through
short-lived signed links handed to staff who may see the client."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pytest
from PIL import ExifTags, Image

from hazina_origination.adapters.images import clean_image
from hazina_origination.domain.photo import NotAnImageError, PhotoTooLargeError


def picture(kind: str = "JPEG", size: tuple[int, int] = (48, 32), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 90)).save(out, format=kind, **save)
    return out.getvalue()


def with_gps(size: tuple[int, int] = (48, 32), orientation: int | None = None) -> bytes:
    """A phone photo: EXIF with the GPS position where it was taken (a client's home)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (1.0, 17.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (36.0, 49.0, 10.0)
    return picture("JPEG", size, exif=exif)


def upload(world: Any, who: Any, data: bytes, name: str = "id.jpg") -> Any:
    return world.http.post(
        "/api/upload", files={"file": (name, data, "image/jpeg")}, headers=who.headers
    )


def stored(world: Any, url: str) -> Image.Image:
    name = url.partition("?")[0].rsplit("/", 1)[-1]
    path = world.container.photos.path_of(name)
    assert path is not None
    return Image.open(io.BytesIO(path.read_bytes()))


JPEG_HEADER_THEN_HTML = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"<html><script>fetch('/api/users').then(r=>r.text()).then(alert)</script></html>"
)
PNG_HEADER_ONLY = b"\x89PNG\r\n\x1a\n"


class TestOnlyRealImagesAreKept:
    @pytest.mark.parametrize(
        "data",
        [
            JPEG_HEADER_THEN_HTML,
            PNG_HEADER_ONLY,
            picture("PNG")[:60],  # a real PNG cut short
            picture("JPEG")[:200],  # a real JPEG cut short
            b"GIF89a" + bytes(100),
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ],
        ids=["jpeg-header-then-html", "png-header-only", "cut-png", "cut-jpeg", "gif", "svg"],
    )
    def test_anything_but_a_whole_image_is_a_400(
        self, world: Any, officer: Any, data: bytes
    ) -> None:
        response = upload(world, officer, data)
        assert response.status_code == 400
        assert response.json()["message"] == "file must be a JPEG, PNG or WebP image"

    def test_onboarding_refuses_a_jpeg_header_followed_by_html(
        self, world: Any, officer: Any
    ) -> None:
        group = world.group(officer)
        nid = world.national_id()
        response = world.http.post(
            "/api/clients/onboard",
            data={
                "name": "N",
                "nationalId": nid,
                "phone": "0722000000",
                "residence": "owned",
                "businessType": "x",
                "businessLocation": "y",
                "nextOfKinName": "z",
                "nextOfKinPhone": "0722000001",
                "nextOfKinRelationship": "w",
                "groupId": group["_id"],
            },
            files={"photo": ("face.jpg", JPEG_HEADER_THEN_HTML, "image/jpeg")},
            headers=officer.headers,
        )
        assert response.status_code == 400
        assert response.json()["message"] == "photo must be a JPEG, PNG or WebP image"
        listed = world.http.get(f"/api/clients?search={nid}", headers=world.super_admin.headers)
        assert listed.json() == []

    def test_a_decompression_bomb_is_a_400(self, world: Any, officer: Any) -> None:
        out = io.BytesIO()
        Image.new("L", (2000, 2000)).save(out, format="PNG")  # 4 megapixels in a few KB
        assert len(out.getvalue()) < 64 * 1024
        response = upload(world, officer, out.getvalue(), "bomb.png")
        assert response.status_code == 400
        assert "at most 1 megapixels" in response.json()["message"]

    def test_a_photo_with_gps_is_kept_re_encoded_without_any_metadata(
        self, world: Any, officer: Any
    ) -> None:
        original = with_gps()
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
        response = upload(world, officer, original)
        assert response.status_code == 201
        kept = stored(world, response.json()["url"])
        assert kept.format == "JPEG" and kept.size == (48, 32)
        assert not kept.getexif() and "exif" not in kept.info
        assert not set(kept.info) & {"exif", "icc_profile", "comment", "xmp"}
        path = world.container.photos.path_of(response.json()["path"].rsplit("/", 1)[-1])
        assert b"PhoneMaker" not in path.read_bytes() and b"Exif" not in path.read_bytes()

    def test_bytes_after_a_real_image_are_not_kept(self, world: Any, officer: Any) -> None:
        response = upload(world, officer, picture("JPEG") + b"<script>alert(1)</script>")
        assert response.status_code == 201
        name = response.json()["path"].rsplit("/", 1)[-1]
        assert b"<script>" not in world.container.photos.path_of(name).read_bytes()

    def test_a_png_stays_a_png_and_a_sideways_photo_is_stood_upright(self) -> None:
        png = clean_image(picture("PNG"), max_pixels=1_000_000)
        assert png.extension == "png" and Image.open(io.BytesIO(png.data)).format == "PNG"
        turned = clean_image(with_gps((40, 20), orientation=6), max_pixels=1_000_000)
        assert Image.open(io.BytesIO(turned.data)).size == (20, 40)

    def test_the_cleaner_names_what_is_wrong(self) -> None:
        with pytest.raises(NotAnImageError):
            clean_image(PNG_HEADER_ONLY, max_pixels=1_000_000)
        with pytest.raises(PhotoTooLargeError):
            clean_image(picture("PNG", (1200, 1000)), max_pixels=1_000_000)


class TestSignedLinks:
    def test_the_upload_answers_a_signed_link_that_opens_without_a_token(
        self, world: Any, officer: Any
    ) -> None:
        body = upload(world, officer, picture()).json()
        assert body["url"].startswith(body["path"] + "?exp=") and "&sig=" in body["url"]
        shown = world.http.get(body["url"])
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["cache-control"].startswith("private, max-age=")

    def test_unsigned_expired_or_altered_links_are_refused(self, world: Any, officer: Any) -> None:
        body = upload(world, officer, picture()).json()
        path, name = body["path"], body["path"].rsplit("/", 1)[-1]
        expires = int(body["url"].split("exp=")[1].split("&")[0])
        signature = body["url"].split("sig=")[1]
        expired = world.container.links.url(name, now=time.time() - 3600)
        refused = {
            "unsigned": path,
            "unsigned, with a token": path,
            "expired": expired,
            "later expiry": f"{path}?exp={expires + 3600}&sig={signature}",
            "altered signature": f"{path}?exp={expires}&sig={'0' * 64}",
            "another file's signature": f"/uploads/{'a' * 64}.jpg?exp={expires}&sig={signature}",
            "garbage": f"{path}?exp=soon&sig=%F0%9F%94%91",
        }
        for what, url in refused.items():
            headers = officer.headers if "token" in what else {}
            response = world.http.get(url, headers=headers)
            assert response.status_code == 403, what
            assert response.json()["message"].startswith("This link has expired or is not valid")
        missing = world.container.links.url("b" * 64 + ".jpg")
        assert world.http.get(missing).status_code == 404

    def test_client_views_sign_the_photo_for_staff_who_may_see_the_client(self, world: Any) -> None:
        mine, other = world.staff("loan_officer"), world.staff("loan_officer")
        group = world.group(mine)
        client = world.onboard(mine, group["_id"])
        for viewer in (mine, world.super_admin, world.approver):
            seen = world.ok(world.http.get(f"/api/clients/{client['_id']}", headers=viewer.headers))
            assert world.http.get(seen["photoUrl"]).status_code == 200
        # Another officer is never shown the client, so is never handed a link to the photo.
        assert (
            world.http.get(f"/api/clients/{client['_id']}", headers=other.headers).status_code
            == 404
        )
        assert (
            world.http.get(f"/api/groups/{group['_id']}", headers=other.headers).status_code == 404
        )
        listed = world.ok(world.http.get("/api/clients", headers=other.headers))
        assert client["_id"] not in {c["_id"] for c in listed}
        members = world.ok(world.http.get(f"/api/groups/{group['_id']}", headers=mine.headers))
        assert all("sig=" in m["photoUrl"] for m in members["members"])

    def test_guarantor_documents_keep_their_path_and_are_signed_when_shown(
        self, world: Any
    ) -> None:
        mine, other = world.staff("loan_officer"), world.staff("loan_officer")
        loan = world.approvable_loan(mine)
        guarantors = world.ok(
            world.http.get(f"/api/guarantors?loanId={loan['_id']}", headers=mine.headers)
        )
        shown = guarantors[0]["idCopyUrl"]
        assert "sig=" in shown and world.http.get(shown).status_code == 200
        row = world.container.read_models.guarantor(uuid.UUID(guarantors[0]["_id"]))
        assert row["id_copy_url"].startswith("/uploads/") and "?" not in row["id_copy_url"]
        assert (
            world.ok(world.http.get(f"/api/guarantors?loanId={loan['_id']}", headers=other.headers))
            == []
        )
        assert world.http.get(f"/api/loans/{loan['_id']}", headers=other.headers).status_code == 404

    @pytest.mark.parametrize(
        "url",
        [
            "https://evil.example/id.jpg",
            "/uploads/id.jpg",
            f"/uploads/{'c' * 64}.jpg",  # well-formed, but nothing was uploaded under that name
        ],
    )
    def test_a_guarantor_document_must_be_an_upload(
        self, world: Any, officer: Any, url: str
    ) -> None:
        _, people = world.ready_group(officer)
        world.savings(people[0]["_id"], 400_000)
        loan = world.ok(world.initiate(officer, people[0], world.product()), 201)["loan"]
        response = world.http.post(
            "/api/guarantors",
            json={
                "loanId": loan["_id"],
                "clientId": people[1]["_id"],
                "relationship": "Sister",
                "idCopyUrl": url,
            },
            headers=officer.headers,
        )
        assert response.status_code == 400
        assert response.json()["message"] == "idCopyUrl must be a URL returned by POST /api/upload"
