//! Tests of policies: parsing, checking and evaluation on hand-made inventories.
