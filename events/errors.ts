/** A queue message that is not an S3 event we understand; fails only its own message. */
export class MalformedMessageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MalformedMessageError";
  }
}
