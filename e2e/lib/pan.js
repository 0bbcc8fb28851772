// An independent card-number scanner for the "server never sees card data"
// proof. Deliberately not the product's own detector: a shared bug could not
// hide a leak from both.

function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Luhn-valid runs of 13 to 19 digits (single spaces or dashes allowed between
 * digits) that stand alone: not inside a longer run of letters and digits. A
 * card number in a body, a log line or a column is delimited (quotes, `=`,
 * spaces); digits inside a hex hash such as a request fingerprint are not one,
 * and a random SHA-256 holds a Luhn-valid 14-digit run often enough to fail a run.
 */
export function findPans(text) {
  const found = [];
  for (const match of text.matchAll(/(?<![0-9A-Za-z])\d(?:[ -]?\d)*(?![0-9A-Za-z])/g)) {
    const digits = match[0].replace(/[ -]/g, "");
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) {
      found.push({ digits, at: match.index });
    }
  }
  return found;
}
