"""What the tests add to the fake Discord server: hostile answers and a control door, kept out of the product."""

from __future__ import annotations

from picextract.fake.routes import discord_routes
from picextract.fake.table import RouteTable
from tests.fake_extras.control import CONTROL_MESSAGES, post_message
from tests.fake_extras.hostile import hostile_answer, is_hostile
from tests.fake_extras.members import is_member_fault, members_answer


def routes_for_tests() -> RouteTable:
    """Discord's routes, the hostile faults of `hostile.py` and `members.py`, and `POST /control/messages`."""
    table = discord_routes()
    table.add_fault(is_hostile, hostile_answer)
    table.add_fault(is_member_fault, members_answer)
    table.add_door(CONTROL_MESSAGES, post_message)
    return table
