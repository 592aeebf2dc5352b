package schedule

// FirstInstant exposes firstInstant to the tests.
var FirstInstant = firstInstant
