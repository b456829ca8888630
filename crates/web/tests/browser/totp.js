// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) and RFC 4648 base32, on
// node:crypto only: the journeys read the secret the enrolment page shows
// and compute codes the way an authenticator app would.
'use strict';
const crypto = require('node:crypto');

const STEP_SECS = 30;

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=-]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error('not base32');
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const digest = crypto.createHmac('sha1', key).update(msg).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const word = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(word % 1_000_000).padStart(6, '0');
}

function stepNow() {
  return Math.floor(Date.now() / 1000 / STEP_SECS);
}

/** The code for `step` (default: now) of a base32 secret. */
function code(secretBase32, step = stepNow()) {
  return hotp(base32Decode(secretBase32), step);
}

/**
 * Waits until at least `margin` seconds remain in the current step, so a
 * code computed now is still current when the server checks it.
 */
async function awayFromStepEnd(margin = 4) {
  const into = (Date.now() / 1000) % STEP_SECS;
  if (STEP_SECS - into < margin) {
    await new Promise((r) => setTimeout(r, (STEP_SECS - into + 0.5) * 1000));
  }
}

module.exports = { base32Decode, hotp, code, stepNow, awayFromStepEnd, STEP_SECS };

// RFC 6238 appendix B, SHA-1 column (8 digits there; the low 6 here).
if (require.main === module) {
  const key = Buffer.from('12345678901234567890');
  const vectors = [[59, '287082'], [1111111109, '081804'], [1234567890, '005924'], [2000000000, '279037']];
  for (const [t, want] of vectors) {
    const got = hotp(key, Math.floor(t / STEP_SECS));
    if (got !== want) { console.error(`t=${t}: ${got} != ${want}`); process.exit(1); }
  }
  console.log('totp vectors ok');
}
