/**
 * Every stable error code Tongban puts on the wire, with the HTTP status it maps to.
 * docs/errors.md lists the same codes; a test keeps the two in step.
 */
export const errorStatus = {
  // generic request handling
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  INTERNAL: 500,
  // standards
  DIVISION_NOT_FOUND: 404,
  // catalogue
  ITEM_NOT_FOUND: 404,
  ITEM_CODE_TAKEN: 409,
  // storage
  IDEMPOTENCY_KEY_REUSED: 409,
  STORE_UNAVAILABLE: 503,
  // data services
  SERVICE_NOT_PUBLISHED: 404,
  SERVICE_UNAVAILABLE: 502,
  // directory
  DIRECTORY_EXPIRED: 503,
  DIRECTORY_UNAVAILABLE: 503,
  DIRECTORY_INVALID: 502,
  NODE_UNKNOWN: 403,
  NODE_NOT_APPROVED: 403,
  NODE_ALREADY_ENROLLED: 409,
  KEY_ID_MISMATCH: 400,
  CHANGE_REQUEST_NOT_FOUND: 404,
  RATE_LIMITED: 429,
  // exchange: authentication
  SIGNATURE_INVALID: 401,
  REQUEST_EXPIRED: 401,
  REPLAYED_REQUEST: 409,
  // exchange: agreement policy
  AGREEMENT_NOT_FOUND: 403,
  AGREEMENT_NOT_IN_FORCE: 403,
  AGREEMENT_INVALID: 400,
  AGREEMENT_NOT_COSIGNED: 409,
  AGREEMENT_VERSION_CONFLICT: 409,
  NOT_A_PARTY: 403,
  ITEM_NOT_IN_AGREEMENT: 403,
  SERVICE_NOT_IN_AGREEMENT: 403,
  FIELD_NOT_ALLOWED: 403,
  PURPOSE_NOT_ALLOWED: 403,
  CONSENT_REQUIRED: 403,
  CONSENT_INVALID: 403,
  TOPOLOGY_NOT_ALLOWED: 403,
  // exchange: subject and peers
  SUBJECT_INVALID: 400,
  SUBJECT_NOT_FOUND: 404,
  PEER_UNREACHABLE: 502,
  PEER_RESPONSE_INVALID: 502,
  HUB_UNREACHABLE: 503,
  UNAUTHORIZED: 401,
  // cases
  CASE_NOT_FOUND: 404,
  CASE_FORBIDDEN: 403,
  CASE_TRANSITION_NOT_ALLOWED: 409,
  // cryptography
  DECRYPTION_FAILED: 400,
  // configuration and node identity
  CONFIG_INVALID: 500,
  NODE_ALREADY_INITIALISED: 409,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatus;

export const errorCodes = Object.keys(errorStatus) as ErrorCode[];
