-- How many digits a TOTP device's codes have (its setup stage's `digits`: 6 or 8), so the
-- validation stage accepts exactly that length: the last six digits of an 8-digit code are the
-- 6-digit code of the same step, so a shorter code would cut the guessing space a hundredfold.
-- Devices set up before this column were 6-digit devices.
ALTER TABLE authenticator_devices ADD COLUMN digits INTEGER NOT NULL DEFAULT 6;
