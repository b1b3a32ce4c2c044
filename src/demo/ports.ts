/**
 * The demo's default ports, the ones examples/demo.json names. Apart from
 * run-demo.ts so `portcullis demo --help` can show them without loading the gateway.
 */
export const DEMO_PORTS = Object.freeze({ issuer: 4000, backend: 9000, gateway: 8080 });
