import { z } from 'zod';

/** The body of every API error answer: a stable code from the error catalogue and a message for people. */
export const ErrorBody = z.object({ code: z.string(), message: z.string() });
