// Intentionally empty: the module only contributes FuzzerEntry.c.
