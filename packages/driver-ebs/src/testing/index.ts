/**
 * @stowage/driver-ebs/testing: the relocatable backing's test doubles, for this package's tests and for other
 * packages' tests that run it on an EC2 stand-in (moto): a test node (a provider with its device plane) and the
 * device plane itself, which plays udev and EBS's data plane with loop devices (root needed).
 */
export { startEbsTestNode, type EbsTestNode, type EbsTestCloud } from './ebs-test-node.js';
export { FakeUdev, type FakeUdevOptions } from './fake-udev.js';
export { SnapshotPlane } from './snapshot-plane.js';
// How EBS names a volume's device: a stand-in for the device plane needs the same names.
export { nvmeLinkName, compactVolumeId } from '../block-device-finder.js';
