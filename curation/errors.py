"""Root exceptions of Curation Commons; every error a user can see derives from `CurationError`.

The whole tree, one line per class (module in brackets). `InvalidInput` means what was given, or read from
outside, is wrong (fix the input); `BackendError` means the outside world failed; `Retryable` (in
`backend.errors`) marks failures where waiting and trying again can succeed.

    CurationError
    +-- InvalidInput (also ValueError)
    |   +-- UnknownDataset [curation.state]            +-- JsonRejected [curation.safejson]
    |   +-- InvalidItemRef, BatchManifestMismatch [curation.batches]
    |   +-- BatchNotAdmitted, ContentNotChecked [curation.selection]
    |   +-- UnknownScheme, InfeasibleCaps [curation.weights.base]
    |   +-- ManifestMismatch [curation.manifest_read]
    |   |   +-- RebuildMismatch [backend.release.build]
    |   +-- MalformedBlock, NotAFile [curation.unixfs]  +-- BlockTooLarge [curation.blocks]
    |   |   +-- DagLimitExceeded, SizeMismatch [curation.unixfs]
    |   +-- CarError [curation.car]
    |   +-- UnknownRelease [backend.release.fetch]         +-- ParquetMismatch [backend.release.parquet]
    |   +-- StateBlockAhead (also Retryable) [backend.chainstate]
    |   +-- UnknownProposal, VotingNotEnded, AlreadyFinalized, NoBallots, DuplicateBallot,
    |   |   ForeignBallot [backend.curate]
    |   +-- ParamOutOfRange, InvalidDatasetName, InvalidUse, InvalidAddress, InvalidAmount [curation.params]
    |   +-- InvalidSpdx, InvalidLicenseClasses [curation.licenses]
    |   +-- MissingRole, NothingToChange, UnknownLicense [backend.operate]
    |   +-- NotConfirmed, UnknownGovProposal, WrongProposalState [backend.govern]
    |   +-- UnknownRole [curation.roles]                +-- InvalidAllocation [curation.allocation]
    |   +-- UnprocessableInput (also ApiError) [backend.api.errors]
    |   +-- ForwardRequestRejected [backend.chain.forwarder]
    |   +-- RelayRefused [backend.relay]: NotRelayable (RequestTooLarge), WouldRevert, QuotaExhausted
    +-- ReadLimitExceeded [curation.unixfs]            +-- BlockMismatch [curation.blocks]
    +-- BackendError [backend.errors]
    |   +-- Retryable: waiting and trying again can succeed (a mixin of the classes marked below)
    |   +-- ConfigError: settings, deployment record or keystore missing or wrong
    |   |   +-- BallotFileError [backend.curate]
    |   |   +-- NotDevChain [backend.operate]
    |   |   +-- RelayerNotConfigured [backend.relay]
    |   |   +-- NotGoverned [backend.govern]            +-- GenesisClosed [backend.chain.governance]
    |   +-- ChainError: the chain could not be reached or answered something unexpected
    |   |   +-- ContractRevert: a revert, decoded to the contract's custom error and its @notice
    |   |   +-- ReleaseRaceError [backend.release.publish]
    |   |   +-- UndecodableLog [backend.chain.decode]
    |   |   +-- RelayerUnfunded (Retryable) [backend.relay]
    |   |   +-- RpcFaultError, AnswerRejected, AnswerTooLarge, InconsistentAnswerError, MethodUnsupported,
    |   |       RangeRefused, TransportFault (Retryable) [backend.chain.rpc]
    |   +-- StoreError: the content store failed or returned bad data
    |   |   +-- ContentNotFound, ContentTooLarge, UnexpectedResponse,
    |   |   |   StoreTimeout (Retryable), StoreUnavailable (Retryable) [backend.ipfs.errors]
    |   |   +-- BatchUnavailable [backend.chainstate]    +-- ContentUnavailable [backend.release.build]
    |   +-- IndexerError [backend.index.errors]
    |   |   +-- IndexDatabaseError, IndexMismatchError (also ConfigError),
    |   |       ChainUnsettledError, IndexEmptyError, ReorgTooDeepError (also ChainError; the first Retryable)
    |   +-- CompileError [backend.chain.compiler]
    |   +-- PartitionError [backend.partition]: a build worker died, a Dask worker was lost, no scheduler
    |   +-- RelayError [backend.relay]: a relay refused or answered nonsense (RelayUnavailable: Retryable)
    +-- ContributionFailed [backend.contribute]
    +-- TrainerError [backend.trainer.items]
    +-- ApiError [backend.api.errors]: NotFound, Conflict, Unauthenticated (SignInFailed), MalformedBody,
        UnsupportedMediaType, UploadIncomplete, PayloadTooLarge, RateLimited, ServiceUnavailable,
        NotRegistered

A test (`tests/curation/test_errors.py`) checks that every exception class in `curation` and `backend` is
named here, so the drawing cannot fall behind the code.
"""

from __future__ import annotations

__all__ = ["CurationError", "InvalidInput"]


class CurationError(Exception):
    """Base of every error raised by Curation Commons (domain core and backend)."""


class InvalidInput(CurationError, ValueError):
    """A value given by a user or read from outside is malformed; the message says what and why."""
