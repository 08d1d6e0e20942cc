"""The fake's ``createdAt`` text: formatted by arithmetic, the same as ``iso_z``'s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from hypothesis import given
from hypothesis import strategies as st

from lemlist_async.testing._people import iso_ms
from lemlist_async.testing._wire import iso_z

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_FIRST: Final = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
_LAST: Final = (datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC) - _EPOCH) // _MS


@given(
    st.one_of(
        st.integers(_FIRST, _LAST),
        st.integers(-3 * 86_400_000, 3 * 86_400_000),  # around the epoch, before it too
        st.sampled_from([_FIRST, _LAST, -1, 0, 86_399_999, 86_400_000]),
    )
)
def test_iso_ms_is_iso_z(millis: int) -> None:
    assert iso_ms(millis) == iso_z(_EPOCH + millis * _MS)
