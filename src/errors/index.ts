export { errorStatus, errorCodes, type ErrorCode } from './codes.ts';
export { TongbanError, toProblem, isTongbanError, type Problem } from './tongban-error.ts';
export { validationError } from './zod.ts';
