// What the sandbox's SDK stand-ins (crates/paylet-sandbox/js) are given when
// served (src/sdk.rs wraps them in one scope that names their origin), and
// the globals they define, as the real SDKs define them.
declare const SDK_ORIGIN: string;
interface Window {
  Stripe: unknown;
  Square: unknown;
}
