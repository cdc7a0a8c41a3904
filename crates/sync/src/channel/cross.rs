//! Placeholder: filled in on its branch.
