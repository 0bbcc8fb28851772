// The card-number scanner the checkout test relies on: it must find a card
// wherever one could leak, and not mistake a hex hash for one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { findPans } from "../lib/pan.js";

test("finds card numbers as they would leak into bodies, logs and columns", () => {
  for (const text of [
    '{"number":"4242424242424242"}',
    "card[number]=4242424242424242&card[cvc]=123",
    "number 4242 4242 4242 4242 typed",
    "x 4000-0566-5566-5556 y",
    "378282246310005",
  ]) {
    assert.equal(findPans(text).length, 1, text);
  }
});

test("passes over digits inside hex hashes and numbers that fail Luhn", () => {
  // A SHA-256 request fingerprint seen in a real run: its 14-digit run passes Luhn.
  const fingerprint = "290dd2ccc8c304e8c08d8b0552caa23781014537912f56122724c0c47a876a03f";
  assert.deepEqual(findPans(fingerprint), []);
  assert.deepEqual(findPans("order total 4242424242424241 cents"), []);
  assert.deepEqual(findPans("at 1764088263000 ms"), []);
});
