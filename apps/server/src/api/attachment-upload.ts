import type { Request, Response } from 'express';
import multer from 'multer';
import { ErrorCode, JelmoreError, ValidationError } from '@jelmore/contracts';

/** An upload's bytes, and the type its sender named (which only tells kinds of text apart). */
export interface UploadedBytes {
  bytes: Buffer;
  declared?: string;
}

function tooLarge(limit: number): JelmoreError {
  return new JelmoreError(
    ErrorCode.AttachmentTooLarge,
    `The attachment is larger than the limit of ${limit} bytes`,
    { scope: 'file', limitBytes: limit },
  );
}

/**
 * Reads an upload: a multipart/form-data body's `file` field, or the raw body. Stops at `limit` bytes
 * with ATTACHMENT_TOO_LARGE (the rest of the body is read and dropped, so the answer reaches the client).
 */
export async function readUpload(
  req: Request,
  res: Response,
  limit: number,
): Promise<UploadedBytes> {
  if (req.is('multipart/form-data')) return readMultipart(req, res, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Refused now; the rest is read and dropped (not destroyed), so the client gets the answer.
      chunks.length = 0;
      reject(tooLarge(limit));
    });
    req.once('end', () => {
      if (size <= limit)
        resolve({ bytes: Buffer.concat(chunks), declared: req.headers['content-type'] });
    });
    req.once('error', reject);
  });
}

function readMultipart(req: Request, res: Response, limit: number): Promise<UploadedBytes> {
  const single = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limit, files: 1, fields: 10, parts: 11 },
  }).single('file');
  return new Promise((resolve, reject) => {
    single(req, res, (err: unknown) => {
      if (err instanceof multer.MulterError) {
        req.resume();
        return reject(
          err.code === 'LIMIT_FILE_SIZE'
            ? tooLarge(limit)
            : new ValidationError(`The multipart body is not one 'file' field: ${err.message}`),
        );
      }
      if (err) {
        const why = err instanceof Error ? err.message : 'unreadable';
        return reject(new ValidationError(`The multipart body cannot be read: ${why}`));
      }
      if (!req.file) return reject(new ValidationError("The multipart body has no 'file' field"));
      resolve({ bytes: req.file.buffer, declared: req.file.mimetype });
    });
  });
}
