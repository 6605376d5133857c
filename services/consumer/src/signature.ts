// Signing is shared with the monitor's subscription test route.
export { signingKey, signWebhook, signatureHeader } from '@internal/events'
