/**
 * The S3 + SQS emulator in a process of its own, so a benchmark's client-side CPU and the
 * emulator's do not share one event loop (as S3 and its clients never do). Prints the
 * endpoint on the first line; stops with the parent.
 */
import { startS3SqsEmulator } from "../local/s3-sqs-emulator.js";
import { LOCAL_REGION } from "../local/credentials.js";

const emulator = await startS3SqsEmulator({ region: LOCAL_REGION });
process.stdout.write(`${emulator.endpoint}\n`);
const stop = () => void emulator.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("disconnect", stop);
process.stdin.on("end", stop);
process.stdin.resume();
