"""Plant known defects in clean simulated bundles, each with the exact expected findings.

Every ``plant_*`` function edits the bundle held by a :class:`Planter` and records, via
:meth:`Planter.expect`, the findings the validator must report for it (rule id,
severity, table, 1-based file row, subject, visit). :meth:`Planter.finish` returns the
flawed bundle and its :class:`ExpectedFinding` records with rows resolved after every
insertion and deletion. ``efficacy.sim.samples`` assembles the flawed sample bundles.

Private: the sample bundles and the tests use it; it is not part of the public API.
"""

from __future__ import annotations

from efficacy.sim._defects._planter import ExpectedFinding, FlawedBundle, Planter
from efficacy.sim._defects.consort import (
    plant_discontinued_without_reason,
    plant_flow_mismatch,
    plant_no_registration_date,
    plant_per_protocol_not_itt,
    plant_screen_failure_without_reason,
)
from efficacy.sim._defects.design import (
    plant_escaping_table_path,
    plant_missing_baseline,
    plant_no_control_arm,
    plant_no_hydration,
    plant_short_follow_up,
    plant_wrinkle_settings_missing,
)
from efficacy.sim._defects.integrity import (
    plant_convertible_units,
    plant_cutometer_inconsistent,
    plant_day_order_reversed,
    plant_day_outside_window,
    plant_duplicate_measurement,
    plant_implausible,
    plant_missing_value,
    plant_non_numeric,
    plant_physical_limit,
    plant_room_too_warm,
    plant_screen_failure_data,
    plant_subject_two_arms,
    plant_unknown_endpoint,
    plant_unknown_subject,
    plant_unknown_unit,
    plant_unknown_visit,
)
from efficacy.sim._defects.pro import (
    plant_duplicated_item,
    plant_faceq_out_of_range,
    plant_mostly_missing_scale,
    plant_skindex_out_of_range,
    plant_unknown_instrument,
)
from efficacy.sim._defects.split_face import (
    plant_randomised_without_allocation,
    plant_same_product_both_sides,
    plant_site_allocated_twice,
    plant_unallocated_site,
    plant_unknown_arm_in_allocation,
)

__all__ = [
    "ExpectedFinding",
    "FlawedBundle",
    "Planter",
    "plant_convertible_units",
    "plant_cutometer_inconsistent",
    "plant_day_order_reversed",
    "plant_day_outside_window",
    "plant_discontinued_without_reason",
    "plant_duplicate_measurement",
    "plant_duplicated_item",
    "plant_escaping_table_path",
    "plant_faceq_out_of_range",
    "plant_flow_mismatch",
    "plant_implausible",
    "plant_missing_baseline",
    "plant_missing_value",
    "plant_mostly_missing_scale",
    "plant_no_control_arm",
    "plant_no_hydration",
    "plant_no_registration_date",
    "plant_non_numeric",
    "plant_per_protocol_not_itt",
    "plant_physical_limit",
    "plant_randomised_without_allocation",
    "plant_room_too_warm",
    "plant_same_product_both_sides",
    "plant_screen_failure_data",
    "plant_screen_failure_without_reason",
    "plant_short_follow_up",
    "plant_site_allocated_twice",
    "plant_skindex_out_of_range",
    "plant_subject_two_arms",
    "plant_unallocated_site",
    "plant_unknown_arm_in_allocation",
    "plant_unknown_endpoint",
    "plant_unknown_instrument",
    "plant_unknown_subject",
    "plant_unknown_unit",
    "plant_unknown_visit",
    "plant_wrinkle_settings_missing",
]
