// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IContentRegistry} from "../interfaces/IContentRegistry.sol";

/// @title Consent terms: what a submission may grant and how consent may change
/// @notice Consent is a uint16 mask of curation.consent.Consent bits; expiry is unix seconds, 0 = none (latest).
///         Consent only narrows: a new mask is a non-empty subset of the current one and a new expiry is no later
///         than the current one. Consent 0 is revocation, which only the revoke functions perform.
library ConsentRules {
    /// @notice Every consent bit the registry knows (TRAIN..SYNTHETIC = 0x01..0x20).
    uint16 internal constant KNOWN = 0x3f;

    /// @notice Terms of a new submission: a non-empty mask of known bits, and no expiry or one in the future.
    function checkNew(uint16 consent, uint64 expiry) internal view {
        if (consent == 0) revert IContentRegistry.ContentRegistryNoConsent();
        if (consent & ~KNOWN != 0) revert IContentRegistry.ContentRegistryUnknownConsentBits(consent);
        if (expiry != 0 && expiry <= block.timestamp) {
            revert IContentRegistry.ContentRegistryExpiryInPast(expiry, block.timestamp);
        }
    }

    /// @notice A change from (`current`, `currentExpiry`) to (`next`, `nextExpiry`) that only narrows.
    function checkNarrowing(uint16 current, uint64 currentExpiry, uint16 next, uint64 nextExpiry) internal pure {
        if (next == 0) revert IContentRegistry.ContentRegistryNoConsent();
        if (next & ~current != 0) revert IContentRegistry.ContentRegistryConsentWidened(current, next);
        if (currentExpiry != 0 && (nextExpiry == 0 || nextExpiry > currentExpiry)) {
            revert IContentRegistry.ContentRegistryExpiryExtended(currentExpiry, nextExpiry);
        }
    }
}
