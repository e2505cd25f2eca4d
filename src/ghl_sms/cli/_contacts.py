"""``ghl-sms contacts``: find people to text, and show one with what texting needs."""

from __future__ import annotations

import shlex
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError, common_options, run_async
from ghl_sms.cli._inputs import non_empty_id
from ghl_sms.cli._ops import show
from ghl_sms.ops.contacts import (
    DND_LOOKUP_LIMIT,
    MAX_LIMIT,
    ContactDetail,
    ContactSearchPage,
    ContactSummary,
)
from ghl_sms.ops.errors import PhoneGivenAsContact

__all__ = ["contacts"]


class _SearchByDefault(click.Group):
    """``contacts Ben`` searches; ``contacts show ID`` shows one. Anything that is not a
    subcommand's name (a search text, an option) goes to ``search``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in ctx.help_option_names:
            return super().parse_args(ctx, args)
        at = self._first_word(args)
        if at is not None and args[at] in self.commands:
            # `contacts --sandbox show ID`: the options belong to the subcommand.
            args = [args[at], *args[:at], *args[at + 1 :]]
        else:
            args = ["search", *args]
        return super().parse_args(ctx, args)

    def _first_word(self, args: list[str]) -> int | None:
        """Where the first argument that is not an option (or an option's value) is."""
        takes_value = {
            name
            for command in self.commands.values()
            for param in command.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        index = 0
        while index < len(args):
            word = args[index]
            if word == "--":
                return None  # what follows is a search text, even "show"
            if not word.startswith("-") or word == "-":
                return index
            index += 2 if word in takes_value else 1
        return None


@click.group(
    cls=_SearchByDefault,
    options_metavar="",
    subcommand_metavar="[QUERY] [OPTIONS] | show CONTACT_ID [OPTIONS]",
)
def contacts() -> None:
    """Find contacts by name, phone, email or tag, or show one.

    Each contact comes with its phone (E.164), tags, SMS DND state in GHL and whether
    ghl-sms holds a local opt-out for them: what decides whether a text can go.

    \b
    Examples:
      ghl-sms contacts Ben                     # name, email or number, as free text
      ghl-sms contacts --phone "(415) 555-0102"
      ghl-sms contacts --tag vip --limit 50
      ghl-sms contacts --email ben@example.com --json
      ghl-sms contacts show sbxCtSmsDnd000000001
      ghl-sms contacts --sandbox Ben
    """


@contacts.command(name="search")
@click.argument("query", required=False)
@click.option("--tag", help="Only contacts with this tag.")
@click.option("--phone", help="An exact phone number, in any common format.")
@click.option("--email", help="An exact email address (case does not matter).")
@click.option(
    "--limit", type=click.IntRange(1, MAX_LIMIT),
    help="Contacts per page (default 20, or the cursor's own).",
)  # fmt: skip
@click.option("--cursor", help="Page on (printed after a page).")
@click.option(
    "--dnd/--no-dnd", "check_dnd", default=None,
    help=f"Look up SMS DND for every contact shown (default: for pages of up to "
    f"{DND_LOOKUP_LIMIT}, one request each).",
)  # fmt: skip
@common_options
def search(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    query: str | None,
    tag: str | None,
    phone: str | None,
    email: str | None,
    limit: int | None,
    cursor: str | None,
    check_dnd: bool | None,
) -> None:
    """Search the location's contacts; every criterion given must match.

    QUERY is free text over names, email and phone; a phone number is looked up
    exactly (GHL's search cannot filter by phone). With nothing given, it lists the
    contacts. To search for the word "show", use `ghl-sms contacts search show`.

    \b
    Examples:
      ghl-sms contacts Ben
      ghl-sms contacts search "Carter" --tag sandbox
      ghl-sms contacts --phone +14155550102 --json
    """

    async def main() -> None:
        async with app.service(settings) as service:
            page = await service.contacts.search(
                query,
                tag=tag,
                phone=phone,
                email=email,
                limit=limit,
                cursor=cursor,
                check_dnd=check_dnd,
            )
            show(page, _render_page, as_json=as_json)

    run_async(main)


@contacts.command(name="show")
@click.argument("contact_id")
@common_options
def show_contact(*, app: AppContext, settings: Settings, as_json: bool, contact_id: str) -> None:
    """One contact with what texting cares about: phone, time zone, state, DND per
    channel, tags, custom fields (as template fields) and any local opt-out.

    \b
    Examples:
      ghl-sms contacts show sbxCtSmsDnd000000001
      ghl-sms contacts show ve9EPM428h8vShlRW1KT --json
    """
    non_empty_id(contact_id, "contact id", "`ghl-sms contacts NAME`")

    async def main() -> None:
        async with app.service(settings) as service:
            try:
                detail = await service.contacts.show(contact_id)
            except PhoneGivenAsContact as exc:
                raise CommandError(
                    str(exc).split(";")[0] + ".",
                    EXIT_USAGE,
                    hint=f"Find its contact with `ghl-sms contacts --phone "
                    f"{shlex.quote(contact_id.strip())}`.",
                    name="phone_given_as_contact",
                ) from None
            show(detail, _render_detail, as_json=as_json)

    run_async(main)


# --- text output --------------------------------------------------------------------------


def _texting(c: ContactSummary) -> str:
    """Why a text to them would be refused, or ok; ``DND?`` when DND was not looked up."""
    blocks = []
    if not c.phone:
        blocks.append("no phone")
    if c.sms_dnd:
        blocks.append("SMS DND")
    if c.opted_out:
        blocks.append(f"opted out ({escape(c.opt_out_source or '?')})")
    if blocks:
        return f"[red]{', '.join(blocks)}[/]"
    return "[green]ok[/]" if c.sms_dnd is False else "DND?"


def _render_page(out: Console, page: ContactSearchPage) -> None:
    if not page.contacts:
        out.print("No contacts match.")
        return
    table = Table()
    # Ids and numbers are copied into other commands: never wrapped.
    table.add_column("contact id", no_wrap=True)
    table.add_column("name")
    table.add_column("phone", no_wrap=True)
    table.add_column("tags")
    table.add_column("texting")
    for c in page.contacts:
        table.add_row(
            c.id,
            escape(c.name),
            c.phone or "-",
            escape(", ".join(c.tags)) or "-",
            _texting(c),
        )
    out.print(table)
    shown = f"{len(page.contacts):,} of {page.total:,}" if page.total else f"{len(page.contacts)}"
    out.print(f"{shown} matching contact{'' if page.total == 1 else 's'}.")
    if not page.dnd_checked:
        out.print("DND?: SMS DND not looked up on a page this size (--dnd looks it up).")
    if page.next_cursor:
        out.print(f"More: --cursor {page.next_cursor}")
    out.print("Details: ghl-sms contacts show CONTACT_ID; text one: ghl-sms send --contact ID")


def _render_detail(out: Console, c: ContactDetail) -> None:
    out.print(f"[bold]{escape(c.name)}[/] ({c.id})")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    rows: list[tuple[str, Any]] = [
        ("phone", c.phone or "[yellow]none: cannot be texted[/]"),
        ("email", escape(c.email or "-")),
        ("time zone", escape(c.timezone or "-")),
        ("quiet hours in", _zones(c)),
        ("place", escape(", ".join(p for p in (c.city, c.state, c.country) if p) or "-")),
        ("tags", escape(", ".join(c.tags)) or "-"),
        ("SMS", _sms_state(c)),
    ]
    others = [f"{name} {escape(s.status)}" for name, s in c.dnd_channels.items() if name != "SMS"]
    if others:
        rows.append(("other DND", ", ".join(others)))
    for label, value in rows:
        grid.add_row(label, value)
    out.print(grid)
    if c.custom_fields:
        out.print("Custom fields (template field = value):")
        for f in c.custom_fields:
            out.print(f"  {{{escape(f.template_field)}}} = {escape(str(f.value))}")


def _zones(c: ContactDetail) -> str:
    if not c.quiet_hours_zones:
        return "the location's time zone (none known for them)"
    source = {"contact": "their time zone", "number": "their number"}.get(
        c.quiet_hours_zone_source or "", "?"
    )
    return f"{escape(', '.join(c.quiet_hours_zones))} (from {source})"


def _sms_state(c: ContactDetail) -> str:
    reasons = []
    if c.sms_dnd:
        setting = c.dnd_channels.get("SMS")
        if setting is not None and setting.status in ("active", "permanent"):
            why = f": {setting.message}" if setting.message else ""
            reasons.append(f"SMS DND {setting.status} in GHL{escape(why)}")
        else:
            reasons.append("global DND in GHL")
    if c.opted_out:
        when = c.opted_out_at.strftime("%Y-%m-%d") if c.opted_out_at else "?"
        reasons.append(f"opted out locally ({escape(c.opt_out_source or '?')}, {when})")
    if not c.phone:
        reasons.append("no phone")
    if reasons:
        return f"[red]blocked[/]: {'; '.join(reasons)}"
    return "[green]can be texted[/] (no DND, no opt-out)"
