"""US area codes (NPA) and state names, for the state quiet-hours rules (sms-rules §4.3).

A static table from NANPA's assignments of geographic area codes, overlays included, as of
2025; cross-checked against the geocoder data shipped with ``phonenumbers``. We never parse
geocoder strings at run time. Non-geographic codes (5XX personal, 8XX toll-free, 900) are
absent on purpose: they say nothing about where the recipient lives. Territories (PR, VI,
GU, AS, MP) are included because US law, and 10DLC, treat them as US destinations.

An area code is where a number was *assigned*; people keep numbers when they move. FL and
OK presume an in-state area code means an in-state resident, which is why the state of
the number counts alongside the contact's address.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "STATE_BY_AREA_CODE",
    "STATE_NAMES",
    "US_JURISDICTIONS",
    "normalize_state",
    "state_for_area_code",
]

_AREA_CODES_BY_STATE = {
    "AK": "907",
    "AL": "205 251 256 334 659 938",
    "AR": "327 479 501 870",
    "AS": "684",
    "AZ": "480 520 602 623 928",
    "CA": (
        "209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 "
        "657 661 669 707 714 738 747 760 805 818 820 831 840 858 909 916 925 949 951"
    ),
    "CO": "303 719 720 748 970 983",
    "CT": "203 475 860 959",
    "DC": "202 771",
    "DE": "302",
    "FL": (
        "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 "
        "904 941 954"
    ),
    "GA": "229 404 470 478 678 706 762 770 912 943",
    "GU": "671",
    "HI": "808",
    "IA": "319 515 563 641 712",
    "ID": "208 986",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872",
    "IN": "219 260 317 463 574 765 812 930",
    "KS": "316 620 785 913",
    "KY": "270 364 502 606 859",
    "LA": "225 318 337 504 985",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MD": "227 240 301 410 443 667",
    "ME": "207",
    "MI": "231 248 269 313 517 586 616 679 734 810 906 947 989",
    "MN": "218 320 507 612 651 763 952",
    "MO": "235 314 417 557 573 636 660 816 975",
    "MP": "670",
    "MS": "228 601 662 769",
    "MT": "406",
    "NC": "252 336 472 704 743 828 910 919 980 984",
    "ND": "701",
    "NE": "308 402 531",
    "NH": "603",
    "NJ": "201 551 609 640 732 848 856 862 908 973",
    "NM": "505 575",
    "NV": "702 725 775",
    "NY": "212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934",
    "OH": "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937",
    "OK": "405 539 572 580 918",
    "OR": "458 503 541 971",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "PR": "787 939",
    "RI": "401",
    "SC": "803 821 839 843 854 864",
    "SD": "605",
    "TN": "423 615 629 729 731 865 901 931",
    "TX": (
        "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 "
        "903 915 936 940 945 956 972 979"
    ),
    "UT": "385 435 801",
    "VA": "276 434 540 571 686 703 757 804 826 948",
    "VI": "340",
    "VT": "802",
    "WA": "206 253 360 425 509 564",
    "WI": "262 274 353 414 534 608 715 920",
    "WV": "304 681",
    "WY": "307",
}

STATE_BY_AREA_CODE: Mapping[str, str] = MappingProxyType(
    {npa: state for state, npas in _AREA_CODES_BY_STATE.items() for npa in npas.split()}
)

STATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas",
        "CA": "California", "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware",
        "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii",
        "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
        "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
        "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
        "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
        "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
        "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
        "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
        "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah",
        "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
        "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
        "GU": "Guam", "AS": "American Samoa", "MP": "Northern Mariana Islands",
    }
)  # fmt: skip

US_JURISDICTIONS = frozenset(STATE_NAMES)
"""The 50 states, DC and the inhabited territories, by USPS code."""

_ALIASES = {
    **{name.casefold(): code for code, name in STATE_NAMES.items()},
    "washington dc": "DC",
    "washington d c": "DC",
    "d c": "DC",
    "virgin islands": "VI",
    "us virgin islands": "VI",
    "u s virgin islands": "VI",
    "northern mariana islands": "MP",
}


def normalize_state(value: str | None) -> str | None:
    """The USPS code of a US state or territory written as a code or a name, else None.

    ``"FL"``, ``"fl"``, ``"Florida"``, ``" florida "`` -> ``"FL"``; ``"Ontario"`` -> None.
    """
    if not value:
        return None
    text = " ".join(value.replace(".", " ").replace(",", " ").split())
    upper = text.upper()
    if upper in US_JURISDICTIONS:
        return upper
    return _ALIASES.get(text.casefold())


def state_for_area_code(area_code: str | None) -> str | None:
    """The state or territory an area code was assigned to (``"850"`` -> ``"FL"``)."""
    if not area_code:
        return None
    return STATE_BY_AREA_CODE.get(area_code)
