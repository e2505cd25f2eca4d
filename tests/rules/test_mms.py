import pytest

from ghl_sms.rules.mms import Attachment, MediaCheck, MediaIssue, check_attachments, media_type_for


def codes(check: MediaCheck) -> list[tuple[str, str]]:
    return [(issue.code, issue.level) for issue in check.issues]


@pytest.mark.parametrize(
    "url", ["https://cdn.test/a.jpg", "https://cdn.test/b.JPEG", "http://cdn.test/c.png",
            "https://cdn.test/d.gif?v=2"]
)  # fmt: skip
def test_jpeg_png_and_gif_over_http_pass_without_remarks(url):
    check = check_attachments([url])
    assert (check.issues, check.blocked) == ((), False)


def test_ten_attachments_are_allowed_and_eleven_are_not():
    assert not check_attachments([f"https://cdn.test/{i}.png" for i in range(10)]).blocked
    check = check_attachments([f"https://cdn.test/{i}.png" for i in range(11)])
    assert codes(check) == [("too_many_attachments", "blocked")]


@pytest.mark.parametrize(
    "url", ["ftp://cdn.test/a.png", "file:///tmp/a.png", "/uploads/a.png", "cdn.test/a.png",
            "https://cdn.test/my photo.png", ""]
)  # fmt: skip
def test_anything_but_an_http_url_is_refused(url):
    assert ("bad_url", "blocked") in codes(check_attachments([url]))


@pytest.mark.parametrize(
    "url", ["http://localhost/a.png", "http://127.0.0.1/a.png", "https://10.1.2.3/a.png",
            "https://192.168.0.5/a.png", "https://files.internal/a.png", "http://[::1]/a.png"]
)  # fmt: skip
def test_an_address_the_carrier_cannot_reach_is_refused(url):
    assert codes(check_attachments([url])) == [("private_url", "blocked")]


def test_other_media_types_are_flagged_as_carrier_dependent():
    check = check_attachments(["https://cdn.test/menu.pdf", "https://cdn.test/clip.mp4"])
    assert codes(check) == [("carrier_dependent_type", "warn")] * 2
    assert check.media_types == ("application/pdf", "video/mp4")
    assert not check.blocked


def test_a_url_without_a_known_extension_has_an_unknown_type():
    assert codes(check_attachments(["https://cdn.test/media/12345"])) == [("unknown_type", "warn")]


def test_a_known_content_type_beats_the_extension():
    media = Attachment("https://cdn.test/media/12345", content_type="image/png")
    check = check_attachments([media])
    assert (check.issues, check.media_types) == ((), ("image/png",))


def test_a_content_type_that_contradicts_the_extension_is_flagged():
    check = check_attachments([Attachment("https://cdn.test/a.png", content_type="image/jpeg")])
    assert codes(check) == [("type_mismatch", "warn")]
    jpg = Attachment("https://cdn.test/a.jpg", content_type="image/jpg; charset=binary")
    assert check_attachments([jpg]).issues == ()


def test_more_than_5_mb_in_total_is_refused_when_the_sizes_are_known():
    check = check_attachments([Attachment(f"https://cdn.test/{i}.jpg", size=2_000_000)
                               for i in range(3)])  # fmt: skip
    assert codes(check) == [("too_large", "blocked")]
    assert check.total_bytes == 6_000_000


def test_unknown_sizes_are_not_guessed():
    assert check_attachments(["https://cdn.test/a.jpg"]).total_bytes is None


def test_large_non_image_media_are_flagged():
    check = check_attachments([Attachment("https://cdn.test/a.mp4", size=700_000)])
    assert codes(check) == [("carrier_dependent_type", "warn"), ("large_media", "warn")]


def test_images_over_1_mb_are_flagged_only_from_toll_free_senders():
    image = Attachment("https://cdn.test/a.jpg", size=1_500_000)
    assert check_attachments([image]).issues == ()
    assert codes(check_attachments([image], toll_free_sender=True)) == [("large_media", "warn")]


def test_a_pre_signed_link_is_flagged_because_it_may_expire():
    url = "https://bucket.s3.amazonaws.com/a.png?X-Amz-Expires=60&X-Amz-Signature=abc"
    assert check_attachments([url]).issues == (
        MediaIssue(
            "expiring_url",
            "warn",
            f"{url} looks like a pre-signed link; make sure it stays valid for at least an hour.",
            0,
            url,
        ),
    )


def test_media_types_come_from_the_path_not_the_query():
    assert media_type_for("https://cdn.test/a.php?file=b.png") is None
    assert media_type_for("https://cdn.test/a.PNG?x=1#y") == "image/png"
