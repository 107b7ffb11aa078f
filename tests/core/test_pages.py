"""What a page says, read right: legacy charsets, attributes, structured data, and text
with more than one number. Each page is served on loopback by tests/support/hostile.py."""

from __future__ import annotations

import json

import pytest
from tally.config import ConfigError, parse_config
from tally.sources import read

SHOP = """<!doctype html>
<html lang="ja"><head>{meta}<title>ブラック・ロータス｜カードショップ</title></head>
<body><div class="product">
<h1>ブラック・ロータス（アンリミテッド版）</h1>
<p class="note">状態は美品です。在庫が少なくなっております。お早めにお買い求めください。</p>
<div class="item"><span class="label">価格</span><span class="yen">１，９８０，０００円</span></div>
<p class="tax">税込価格 2,178,000円</p>
<p class="ship">送料無料・翌日発送。代金引換、銀行振込、クレジットカードがご利用いただけます。</p>
</div></body></html>
"""

# The three ways to read the page that legacy charsets used to break.
READS = {
    "full-width text": ({"selector": ".item .yen"}, 1980000),
    "a Japanese regex": ({"selector": ".tax", "regex": r"税込価格\s*([\d,]+)円"}, 2178000),
    ":-soup-contains": ({"selector": ".item:-soup-contains('価格') .yen"}, 1980000),
}


def html_source(url: str, **fields):
    base = {"id": "shop", "kind": "html", "url": url, "every": "1d", "timeout": "3s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


# --- 3. charsets ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-jp"])
@pytest.mark.parametrize("declared", ["header", "meta charset", "meta http-equiv", "nowhere"])
@pytest.mark.parametrize("how", sorted(READS))
def test_a_legacy_charset_page_reads_like_its_utf8_copy(hostile, encoding, declared, how):
    meta = {
        "meta charset": f'<meta charset="{encoding}">',
        "meta http-equiv": (
            f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">'
        ),
    }.get(declared, "")
    ctype = f"text/html; charset={encoding}" if declared == "header" else "text/html"
    path = f"/shop-{encoding}-{declared.replace(' ', '-')}"
    legacy = hostile.serve(path, SHOP.format(meta=meta).encode(encoding), ctype)
    utf8 = hostile.serve(
        path + "-utf8",
        SHOP.format(meta='<meta charset="utf-8">').encode(),
        "text/html; charset=utf-8",
    )
    fields, expected = READS[how]
    assert read(html_source(utf8, **fields)).value == expected
    reading = read(html_source(legacy, **fields))
    assert reading.ok and reading.value == expected, reading.error


def test_the_header_charset_wins_over_a_wrong_meta(hostile):
    page = SHOP.format(meta='<meta charset="utf-8">').encode("shift_jis")
    url = hostile.serve("/shop-lying-meta", page, "text/html; charset=Shift_JIS")
    assert read(html_source(url, **READS["a Japanese regex"][0])).value == 2178000


def test_an_http_check_reads_its_body_in_the_page_charset(hostile):
    url = hostile.serve(
        "/health-sjis", "<p>状態：正常</p>".encode("shift_jis"), "text/html; charset=shift_jis"
    )
    source = parse_config(
        {
            "sources": [
                {"id": "up", "kind": "http", "url": url, "every": "1m", "expect_body": "正常"}
            ]
        }
    ).sources[0]
    assert read(source).up == 1


# --- 4. attributes -------------------------------------------------------------------------

ATTRIBUTES = """<html><head>
<meta property="product:price:amount" content="2800">
<meta itemprop="lowPrice" content="1234.5">
</head><body><div class="buy" data-price="1,980" data-sku="A-1 B-2">Add to cart</div></body></html>
"""


@pytest.mark.parametrize(
    ("selector", "attribute", "expected"),
    [
        ('meta[property="product:price:amount"]', "content", 2800),
        ('meta[itemprop="lowPrice"]', "content", 1234.5),
        ("[data-price]", "data-price", 1980),
    ],
)
def test_a_number_from_an_attribute(hostile, selector, attribute, expected):
    url = hostile.serve("/attributes", ATTRIBUTES)
    reading = read(html_source(url, selector=selector, attribute=attribute))
    assert reading.ok and reading.value == expected


def test_a_missing_attribute_says_so(hostile):
    url = hostile.serve("/attributes", ATTRIBUTES)
    reading = read(html_source(url, selector=".buy", attribute="data-cost"))
    assert reading.error == "CSS selector '.buy' matched an element without a 'data-cost' attribute"


def test_attribute_goes_with_a_selector():
    with pytest.raises(ConfigError) as caught:
        html_source("https://x.test/", price_from="meta", attribute="content")
    assert caught.value.problems == [
        "source 'shop': 'attribute' reads an attribute of the 'selector' element: set both"
    ]


# --- 5. structured data --------------------------------------------------------------------


def _ld(*blocks: str) -> str:
    scripts = "".join(f'<script type="application/ld+json">{block}</script>' for block in blocks)
    return f"<html><head>{scripts}</head><body><p>1.299,00 €</p></body></html>"


OFFER = {"@type": "Offer", "price": "1299.99", "priceCurrency": "EUR"}
PRODUCT = {"@context": "https://schema.org", "@type": "Product", "name": "Lotus", "offers": OFFER}


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (_ld("/*<![CDATA[*/" + json.dumps(PRODUCT) + "/*]]>*/"), 1299.99),
        (_ld("//<![CDATA[\n" + json.dumps(PRODUCT) + "\n//]]>"), 1299.99),
        (
            _ld(
                json.dumps(
                    {"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, PRODUCT]}
                )
            ),
            1299.99,
        ),
        (_ld(json.dumps([{"@type": "BreadcrumbList"}, PRODUCT])), 1299.99),
        (_ld(json.dumps({**PRODUCT, "@type": ["Product", "IndividualProduct"]})), 1299.99),
        (_ld(json.dumps({**PRODUCT, "offers": {**OFFER, "@type": ["Offer", "Demand"]}})), 1299.99),
        (
            _ld(
                json.dumps(
                    {
                        **PRODUCT,
                        "offers": {"@type": "AggregateOffer", "lowPrice": 3750, "highPrice": 5200},
                    }
                )
            ),
            3750,
        ),
        (_ld(json.dumps({**PRODUCT, "offers": [{"@type": "Offer", "price": 2800}, OFFER]})), 2800),
        (
            _ld(
                json.dumps(
                    {
                        **PRODUCT,
                        "offers": {
                            "@type": "Offer",
                            "priceSpecification": {"@type": "UnitPriceSpecification", "price": 9.5},
                        },
                    }
                )
            ),
            9.5,
        ),
        (_ld("{not json", json.dumps(PRODUCT)), 1299.99),  # a broken block beside a good one
    ],
    ids=[
        "cdata",
        "cdata-line-comments",
        "graph",
        "list",
        "list-type",
        "offer-list-type",
        "aggregate-offer",
        "offers-list",
        "price-specification",
        "broken-and-good",
    ],
)
def test_ld_json_as_shops_write_it(hostile, page, expected):
    """Structured prices use '.' (schema.org), whatever the source's `decimal`."""
    url = hostile.serve("/ld", page)
    reading = read(html_source(url, price_from="ld+json", decimal=","))
    assert reading.ok and reading.value == expected, reading.error


def test_an_unparsable_ld_json_block_is_named_in_the_failure(hostile):
    url = hostile.serve("/ld-broken", _ld('{"@type": "Product", "offers": {"price": 5,}}'))
    reading = read(html_source(url, price_from="ld+json"))
    assert reading.error.startswith(
        "no schema.org Offer price; 1 ld+json block could not be parsed: "
    )


def test_a_meta_price_attribute_uses_a_point_whatever_the_decimal(hostile):
    url = hostile.serve("/meta-price", '<span itemprop="price" content="1234.56">1.234,56 €</span>')
    assert read(html_source(url, price_from="meta", decimal=",")).value == 1234.56


# --- 6. text with more than one number -------------------------------------------------------

PRICES = """<html><body>
<p class="deal">Now $999.99 — was $1,299.99</p>
<p class="jp">1,234円（税込1,357円）</p>
</body></html>"""


@pytest.mark.parametrize(
    ("selector", "reason"),
    [
        (
            ".deal",
            "CSS selector '.deal': 2 numbers (999.99 and 1,299.99) in "
            "'Now $999.99 — was $1,299.99': add a regex that picks one",
        ),
        (
            ".jp",
            "CSS selector '.jp': 2 numbers (1,234 and 1,357) in "
            "'1,234円（税込1,357円）': add a regex that picks one",
        ),
    ],
)
def test_text_with_two_numbers_is_a_failure_not_a_guess(hostile, selector, reason):
    url = hostile.serve("/prices", PRICES)
    reading = read(html_source(url, selector=selector))
    assert not reading.ok and reading.value is None
    assert reading.error == reason


@pytest.mark.parametrize(
    ("selector", "regex", "expected"),
    [(".deal", r"Now \$([\d,.]+)", 999.99), (".jp", r"税込([\d,]+)円", 1357)],
)
def test_a_regex_picks_the_number(hostile, selector, regex, expected):
    url = hostile.serve("/prices", PRICES)
    assert read(html_source(url, selector=selector, regex=regex)).value == expected
