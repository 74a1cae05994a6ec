import { useEffect, useRef } from 'react';
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';

/** An SSH session's terminal recording (asciicast v2 from the replay API) in asciinema-player. */
export function TerminalReplay({ sessionId }: { sessionId: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const player = AsciinemaPlayer.create(`/api/query/sessions/${encodeURIComponent(sessionId)}/replay.cast`, el.current, {
      fit: 'width',
      idleTimeLimit: 2,
      preload: true,
      controls: true,
    });
    return () => player.dispose();
  }, [sessionId]);
  return <div ref={el} className="terminal" aria-label="Terminal recording" />;
}
