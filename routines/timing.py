"""Session times that are rules of the coaching, not settings: the engine and the length
estimate read the same numbers, so what a card promises is what the clock does."""

from __future__ import annotations

from datetime import timedelta

# After the second Ready the hold's clock waits this long (scaled like every session
# time), so the partner who tapped last can put the phone down and take hold. Only a
# hold that follows a setup gets it: after a switch or a Resume both are in place.
GET_SET = timedelta(seconds=4)

# A setup is untimed: it lasts until both tap Ready. For estimates only, this is what
# reading the card and getting into position usually takes a couple.
SETUP_ALLOWANCE = timedelta(seconds=20)
