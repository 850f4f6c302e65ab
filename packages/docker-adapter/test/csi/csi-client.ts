// The conformance kit's client: one CSI test client for this repository's tests and every driver author's.
export { CsiTestClient as CsiClient } from '@stowage/csi-adapter/conformance';
