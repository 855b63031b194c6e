// Images and documents pasted or dropped into a text box: each is uploaded at once and shown as a chip
// (a thumbnail for images) until the turn is sent, then goes as content blocks that name its id.
import { formatBytes, h } from './dom.js';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export class AttachmentTray {
  /** upload(file) resolves to the attachment resource; onError(err) reports a refused upload. */
  constructor(input, { upload, onError }) {
    this.upload = upload;
    this.onError = onError;
    this.items = [];
    this.el = h('div', { class: 'attachments', hidden: true });
    input.addEventListener('paste', (e) => {
      // Text pastes as usual; only files are taken here.
      if (this.take(e.clipboardData)) e.preventDefault();
    });
    input.addEventListener('dragover', (e) => {
      if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) e.preventDefault();
    });
    input.addEventListener('drop', (e) => {
      if (this.take(e.dataTransfer)) e.preventDefault();
    });
  }

  take(transfer) {
    const files = transfer ? [...transfer.files] : [];
    files.forEach((file) => this.add(file));
    return files.length > 0;
  }

  add(file) {
    const preview = IMAGE_TYPES.has(file.type) ? URL.createObjectURL(file) : undefined;
    const status = h('span', { class: 'muted small' }, 'uploading…');
    const remove = h('button', { type: 'button', class: 'chip-remove', title: 'Remove' }, '×');
    const chip = h(
      'span',
      { class: 'chip' },
      preview
        ? h('img', { class: 'thumb', src: preview, alt: file.name })
        : h('span', {}, file.name || 'document'),
      status,
      remove,
    );
    const item = { file, preview, chip };
    item.ready = this.upload(file).then(
      (resource) => {
        chip.dataset.attachmentId = resource.id;
        status.textContent = formatBytes(resource.size);
        return { resource, name: file.name };
      },
      (err) => {
        this.remove(item);
        this.onError(err);
        return undefined;
      },
    );
    remove.addEventListener('click', () => this.remove(item));
    this.items.push(item);
    this.el.append(chip);
    this.el.hidden = false;
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    item.chip.remove();
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.el.hidden = this.items.length === 0;
  }

  get empty() {
    return this.items.length === 0;
  }

  /** The turn's content: `text` alone when nothing is attached, else blocks (once uploads end). */
  async content(text) {
    const uploads = (await Promise.all(this.items.map((i) => i.ready))).filter(Boolean);
    if (!uploads.length) return text;
    const blocks = text.trim() ? [{ type: 'text', text }] : [];
    for (const { resource, name } of uploads) {
      blocks.push(
        IMAGE_TYPES.has(resource.mediaType)
          ? { type: 'image', attachmentId: resource.id }
          : { type: 'document', attachmentId: resource.id, ...(name ? { name } : {}) },
      );
    }
    return blocks;
  }

  clear() {
    for (const item of [...this.items]) this.remove(item);
  }
}
