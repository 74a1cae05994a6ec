/** Where the built single-page app is: web/dist of this package (npm run build -w @portcullis/console). */
import { fileURLToPath } from 'node:url';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
