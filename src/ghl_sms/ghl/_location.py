"""The location's own endpoints: its phone numbers and its details."""

from __future__ import annotations

from ghl_sms.ghl._calls import ApiCaller, seg, unwrap
from ghl_sms.ghl._models import Location, PhoneNumberList

__all__ = ["LocationApi"]


class LocationApi(ApiCaller):
    """``/phone-system/numbers/location/{id}`` and ``/locations/{id}``."""

    async def list_phone_numbers(self, *, page_size: int = 100, page: int = 0) -> PhoneNumberList:
        """The location's numbers with their SMS/MMS capabilities and the default one."""
        path = f"/phone-system/numbers/location/{seg(self.location_id)}"
        params = {"pageSize": page_size, "page": page}
        data = await self._call("GET", path, module="phone-system", params=params)
        if isinstance(data, dict) and isinstance(data.get("data"), dict):  # v3 envelope
            data = data["data"]
        return self._parse(PhoneNumberList, data, "GET", path)

    async def get_location(self) -> Location:
        path = f"/locations/{seg(self.location_id)}"
        data = await self._call("GET", path, module="locations")
        return self._parse(Location, unwrap(data, "location"), "GET", path)
