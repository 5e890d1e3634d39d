//! Pages for citizen participation (work in progress in this change).
