// Types of groups.mjs (plain JavaScript, so that stryker.config.mjs can import it without tsx).
export declare const SAFETY: string[];
export declare const GROUPS: Record<string, string[]> & { safety: string[] };
export declare const CORE: string[];
