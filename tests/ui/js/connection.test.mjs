// connection.js's retry delays: short, capped, with jitter (back about a second after the
// server is).
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_DELAY_MS, retryDelay } from "../../../ui/static/js/connection.js";

test("the delay grows from a quarter second and is capped near one second", () => {
  const middle = (attempt) => retryDelay(attempt, 0.5);
  assert.deepEqual([0, 1, 2, 3, 10, 100].map(middle), [250, 500, 1000, 1000, 1000, 1000]);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    assert.ok(retryDelay(attempt, 0.999) <= MAX_DELAY_MS * 1.25);
    assert.ok(retryDelay(attempt, 0) >= 250 * 0.75);
  }
});
