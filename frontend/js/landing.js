// The landing page: a signed-in visitor goes straight to chat.
import { isSignedIn } from './auth.js';

if (isSignedIn()) location.replace('/chat.html');
